// The ScoringModel over LiteRT's Interpreter (signature "serving_default") for Android apps. Not compiled by
// edgeship's build: LiteRT's Android artifact (com.google.ai.edge.litert:litert, an AAR on Google's Maven
// repository) needs the Android Gradle plugin, which this repository's Maven build has no access to. Copy it into
// the app module that depends on dev.edgeship:edgeship-client and LiteRT.
package dev.edgeship.client.litert

import dev.edgeship.client.Encoded
import dev.edgeship.client.Features
import dev.edgeship.client.ScoringModel
import org.tensorflow.lite.Interpreter
import java.io.File
import java.nio.ByteBuffer
import java.nio.ByteOrder

class LiteRtScoringModel(model: File, private val features: Features, threads: Int = 1) : ScoringModel, AutoCloseable {
    private val interpreter = Interpreter(model, Interpreter.Options().setNumThreads(threads))

    private fun buffer(bytes: Int): ByteBuffer = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder())

    override fun score(inputs: Encoded): FloatArray {
        val feeds = HashMap<String, Any>()
        for (input in features.inputs) {
            feeds[input.name] = when (input.name) {
                "context" -> buffer(4 * inputs.context.size).apply { asIntBuffer().put(inputs.context) }
                "history" -> buffer(4 * inputs.history.size).apply { asIntBuffer().put(inputs.history) }
                "candidates" -> buffer(4 * inputs.candidates.size).apply { asIntBuffer().put(inputs.candidates) }
                else -> buffer(4 * inputs.candidateFeatures.size).apply {
                    asFloatBuffer().put(inputs.candidateFeatures)
                }
            }
        }
        val out = buffer(4 * features.k)
        interpreter.runSignature(feeds, mapOf(features.output to out), "serving_default")
        out.rewind()
        return FloatArray(features.k).also { out.asFloatBuffer().get(it) }
    }

    override fun close() = interpreter.close()
}
