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
}
