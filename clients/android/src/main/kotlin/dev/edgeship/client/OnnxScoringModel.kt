package dev.edgeship.client

import ai.onnxruntime.OnnxTensor
import ai.onnxruntime.OrtEnvironment
import ai.onnxruntime.OrtSession
import java.nio.FloatBuffer
import java.nio.IntBuffer

/** A .onnx or .ort file in an ONNX Runtime session (com.microsoft.onnxruntime:onnxruntime on a JVM,
 *  onnxruntime-android in an app): inputs by name, with the shapes features.json declares. */
class OnnxScoringModel(private val session: OrtSession, private val features: Features) : ScoringModel {
    private val env = OrtEnvironment.getEnvironment()

    override fun score(inputs: Encoded): FloatArray {
        val tensors = features.inputs.associate { input ->
            input.name to when (input.name) {
                "context" -> OnnxTensor.createTensor(env, IntBuffer.wrap(inputs.context), input.shape)
                "history" -> OnnxTensor.createTensor(env, IntBuffer.wrap(inputs.history), input.shape)
                "candidates" -> OnnxTensor.createTensor(env, IntBuffer.wrap(inputs.candidates), input.shape)
                else -> OnnxTensor.createTensor(env, FloatBuffer.wrap(inputs.candidateFeatures), input.shape)
            }
        }
        try {
            session.run(tensors).use { result ->
                val out = result.get(features.output).orElseThrow() as OnnxTensor
                return out.floatBuffer.let { b -> FloatArray(b.remaining()) { b.get(it) } }
            }
        } finally {
            tensors.values.forEach { it.close() }
        }
    }
}
