import Foundation
import XCTest
@testable import EdgeshipClient

/// The conformance suite (clients/conformance), every case: run with `swift test` on macOS (or Linux with a Swift
/// toolchain). Not run by edgeship's `make test`: no Swift toolchain exists on its machines.
final class ConformanceTests: XCTestCase {
    let suite = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../conformance")
        .standardized

    func data(_ parts: String...) throws -> Data {
        try Data(contentsOf: parts.reduce(suite) { $0.appendingPathComponent($1) })
    }

    func request(_ o: [String: Any]) -> RawRequest {
        RawRequest(items: o["items"] as? [Any] ?? [], features: o["features"] as? [[String: Any]] ?? [],
                   context: o["context"] as? [String: Any] ?? [:], timestamp: (o["timestamp"] as? NSNumber)?.doubleValue,
                   history: o["history"] as? [Any] ?? [], attributes: o["attributes"] as? [[String: String]] ?? [])
    }

    func flat(_ x: Any?) -> [Double] {
        if let a = x as? [Any] { return a.flatMap { flat($0) } }
        return [(x as? NSNumber)?.doubleValue ?? .nan]
    }

    func tensors(_ got: Encoded, _ want: [String: Any]) -> String? {
        let named: [String: [Double]] = [
            "context": got.context.map(Double.init), "history": got.history.map(Double.init),
            "candidates": got.candidates.map(Double.init), "candidate_features": got.candidateFeatures.map(Double.init)]
        for (name, value) in want {
            let g = named[name]!, w = flat(value)
            let ok = g.count == w.count && zip(g, w).allSatisfy {
                name == "candidate_features" ? abs($0 - $1) <= 1e-6 : $0 == $1 }
            if !ok { return "\(name): got \(g), want \(w)" }
        }
        return nil
    }

    func order(_ indices: [Int], _ r: RawRequest, _ want: Any?) -> String? {
        let got = indices.map { try! canonical(r.items[$0], field: "item") }
        let expected = (want as? [Any] ?? []).map { try! canonical($0, field: "item") }
        return got == expected ? nil : "order \(got), want \(expected)"
    }

    func check(_ c: [String: Any], _ encoder: Encoder, _ table: FallbackTable) -> String? {
        let expect = c["expect"] as? [String: Any] ?? [:]
        let r = request(c["request"] as? [String: Any] ?? [:])
        let scores = (c["scores"] as? [NSNumber])?.map { $0.doubleValue }
        do {
            switch c["group"] as? String {
            case "encode", "errors":
                let got = try encoder.encode(r)
                if let error = expect["error"] { return "encoded; want error \(error)" }
                return tensors(got, (expect["calls"] as? [[String: Any]])![0])
            case "merge":
                let calls = try encoder.calls(r).map { try encoder.encode($0) }
                let want = expect["calls"] as? [[String: Any]] ?? []
                if calls.count != want.count { return "\(calls.count) calls, want \(want.count)" }
                for (i, call) in calls.enumerated() { if let wrong = tensors(call, want[i]) { return "call \(i): \(wrong)" } }
                return order(try applyRules(.none, scores!, r, encoder), r, expect["order"])
            case "fallback":
                let got = try table.scores(r, encoder), want = flat(expect["scores"])
                if zip(got, want).contains(where: { abs($0 - $1) > 1e-12 }) { return "scores \(got), want \(want)" }
                return order(try applyRules(.none, got, r, encoder), r, expect["order"])
            default:
                let rules = RuleSet(json: c["rules"] as? [String: Any] ?? [:])
                return order(try applyRules(rules, scores!, r, encoder), r, expect["order"])
            }
        } catch let e as ContractError {
            return e.code == expect["error"] as? String && e.field == expect["field"] as? String ? nil
                : "error \(e.code) \(e.field), want \(expect["error"] ?? "none") \(expect["field"] ?? "")"
        } catch {
            return "threw \(error)"
        }
    }

    func testEveryCase() throws {
        let doc = try JSONSerialization.jsonObject(with: try data("cases.json")) as! [String: Any]
        var contracts: [String: (Encoder, FallbackTable)] = [:]
        var failures: [String] = []
        for c in doc["cases"] as! [[String: Any]] {
            let name = c["contract"] as! String
            if contracts[name] == nil {
                contracts[name] = (try Encoder(features: try Features(json: try data("contracts", name, "features.json")),
                                               vocabularies: try parseVocabularies(json: try data("contracts", name,
                                                                                                  "vocabularies.json"))),
                                   try FallbackTable(json: try data("contracts", name, "fallback.json")))
            }
            let (encoder, table) = contracts[name]!
            if let wrong = check(c, encoder, table) { failures.append("\(c["group"]!)/\(c["id"]!): \(wrong)") }
        }
        XCTAssertEqual(failures, [])
    }

    // releases/: signed archives to accept or refuse with a code, store scenarios, rollout buckets

    lazy var releases: [String: Any] = try! JSONSerialization.jsonObject(with: try! data("releases", "releases.json"))
        as! [String: Any]
    lazy var keys: [String: ReleaseKey] = (releases["keys"] as! [String: String]).mapValues {
        try! ReleaseKey(pem: String(data: try! data("releases", $0), encoding: .utf8)!)
    }

    func testReleaseCases() throws {
        var failures: [String] = []
        for c in releases["cases"] as! [[String: Any]] {
            let want = c["expected"] as! [String: Any]
            do {
                let release = try openRelease(try data("releases", c["archive"] as! String),
                                              keys: (c["keys"] as! [String]).map { keys[$0]! })
                try admit(release.record, clientVersion: c["client_version"] as! String,
                          contracts: releases["contracts"] as! [Int], installed: c["installed"] as? String)
                let r = release.record
                let got: [String: Any] = [
                    "version": r.version, "rollout": r.rollout, "salt": r.salt, "kill_switch": r.killSwitch,
                    "previous": r.previous?.version ?? NSNull(), "release_sha256": release.releaseSha256,
                    "files": release.files.keys.sorted()]
                if want["error"] != nil || !NSDictionary(dictionary: got).isEqual(to: want) {
                    failures.append("\(c["name"]!): got \(got), want \(want)")
                }
            } catch let e as ReleaseError {
                if e.code != want["error"] as? String { failures.append("\(c["name"]!): error \(e.code)") }
            }
        }
        XCTAssertEqual(failures, [])
    }

    func testStoreScenarios() throws {
        for scenario in releases["scenarios"] as! [[String: Any]] {
            var store = ReleaseStore(keys: [keys["test"]!], clientVersion: releases["client_version"] as! String,
                                     contracts: releases["contracts"] as! [Int])
            for (i, step) in (scenario["steps"] as! [[String: Any]]).enumerated() {
                if let archive = step["install"] as? String {
                    XCTAssertEqual(store.install(try data("releases", archive)), step["expect"] as? String,
                                   "\(scenario["name"]!) step \(i)")
                } else if let r = step["restart"] as? [String: Any] {
                    store = ReleaseStore(keys: [keys["test"]!], clientVersion: releases["client_version"] as! String,
                                         contracts: releases["contracts"] as! [Int], floor: r["floor"] as? String)
                    let previous = try (r["previous"] as? String).map { try data("releases", $0) }
                    XCTAssertEqual(store.restore(try data("releases", r["installed"] as! String), previous: previous),
                                   step["expect"] as? String, "\(scenario["name"]!) step \(i)")
                } else if step["rollback"] != nil {
                    XCTAssertEqual(store.rollback(), step["expect"] as? Bool, "\(scenario["name"]!) step \(i)")
                } else {
                    for (user, want) in step["users"] as! [String: Any] {
                        XCTAssertEqual(store.forUser(user)?.record.version, want as? String,
                                       "\(scenario["name"]!) step \(i): \(user)")
                    }
                }
            }
        }
    }

    func testBuckets() throws {
        for b in releases["buckets"] as! [[String: Any]] {
            let value = bucket(b["user"] as! String, salt: b["salt"] as! String)
            XCTAssertEqual(value, (b["bucket"] as! NSNumber).doubleValue)
            for (fraction, inside) in b["in_rollout"] as! [String: Bool] {
                XCTAssertEqual(value < Double(fraction)!, inside)
            }
        }
    }

    // exploration.json: the slate and propensities for given draws, and the events a client logs

    lazy var exploration: [String: Any] = try! JSONSerialization.jsonObject(with: try! data("exploration.json"))
        as! [String: Any]

    func slate(_ c: [String: Any]) throws -> Slate {
        try explore(order: c["order"] as! [Int], slots: c["slots"] as! Int,
                    epsilon: (c["epsilon"] as! NSNumber).doubleValue,
                    draws: (c["draws"] as! [NSNumber]).map { $0.doubleValue })
    }

    func testExploration() throws {
        for c in exploration["cases"] as! [[String: Any]] {
            let got = try slate(c), want = c["expected"] as! [String: Any]
            XCTAssertEqual(got.shown, want["shown"] as! [Int], c["name"] as! String)
            XCTAssertEqual(got.explored, want["explored"] as! Bool, c["name"] as! String)
            let p = (want["propensities"] as! [NSNumber]).map { $0.doubleValue }
            XCTAssertEqual(got.propensities.count, p.count)
            for (g, w) in zip(got.propensities, p) { XCTAssertEqual(g, w, accuracy: 1e-15) }
        }
    }

    func testLogging() throws {
        let cases = exploration["cases"] as! [[String: Any]]
        for l in exploration["logging"] as! [[String: Any]] {
            let c = cases.first { $0["name"] as? String == l["case"] as? String }!
            let a = l["args"] as! [String: Any]
            let s = try slate(c)
            let items = a["items"] as! [Any]
            let shadow = (a["shadow"] as? [Any]).map { (modelVersion: $0[0] as? String, items: $0[1] as! [Any]) }
            let info = RequestInfo(requestId: a["request_id"] as! String, user: a["user"] as! String,
                                   arm: a["arm"] as! String, policy: a["policy"] as! String,
                                   timestamp: (a["timestamp"] as! NSNumber).doubleValue,
                                   modelVersion: a["model_version"] as? String,
                                   epsilon: (a["epsilon"] as? NSNumber)?.doubleValue,
                                   latencyMs: (a["latency_ms"] as? NSNumber)?.doubleValue, error: a["error"] as? String,
                                   shadow: shadow, bucket: (a["bucket"] as? NSNumber)?.doubleValue)
            let got = try requestEvents(info, items: items, slate: s)
                + [try tapEvent(requestId: a["request_id"] as! String, item: items[s.shown[0]],
                                timestamp: 1764720003.0)]
            XCTAssertTrue(NSArray(array: got).isEqual(to: l["expected"] as! [Any]), "\(l["case"]!): got \(got)")
        }
    }
}

