package dev.edgeship.client

import org.json.JSONObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** ImpressionLogger against sinks that fail and queues that overflow: every line reaches the sink once, in order,
 *  or is counted as dropped. */
class LoggerTest {
    private fun events(from: Int, n: Int) =
        List(n) { JSONObject().put("event", "tap").put("request_id", "r${from + it}") }
    private fun ids(sent: List<String>) =
        sent.joinToString("").lines().filter { it.isNotEmpty() }.map { JSONObject(it).getString("request_id") }

    @Test
    fun batchesLeaveWholeAndFlushHandsOverTheRest() {
        val sent = ArrayList<String>()
        val logger = ImpressionLogger({ sent.add(it) }, batch = 3)
        logger.log(events(0, 2))
        assertEquals(0, sent.size)
        logger.log(events(2, 2))
        assertEquals(1, sent.size)
        logger.log(events(4, 1))
        assertTrue(logger.flush())
        assertEquals(listOf("r0", "r1", "r2", "r3", "r4"), ids(sent))
    }

    @Test
    fun aFailingSinkKeepsItsLinesInFrontOfNewerOnes() {
        val sent = ArrayList<String>()
        var failing = true
        val logger = ImpressionLogger({ if (failing) error("offline") else sent.add(it) }, batch = 100)
        logger.log(events(0, 2))
        assertFalse(logger.flush())
        logger.log(events(2, 1))
        assertEquals(3, logger.pending)
        failing = false
        assertTrue(logger.flush())
        assertEquals(listOf("r0", "r1", "r2"), ids(sent))
    }

    @Test
    fun pastMaxLinesTheOldestAreDroppedAndCounted() {
        val sent = ArrayList<String>()
        val logger = ImpressionLogger({ sent.add(it) }, batch = 100, maxLines = 5)
        logger.log(events(0, 8))
        assertEquals(3L, logger.dropped)
        assertTrue(logger.flush())
        assertEquals(listOf("r3", "r4", "r5", "r6", "r7"), ids(sent))
    }
}
