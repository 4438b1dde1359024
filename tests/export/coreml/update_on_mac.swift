// One Core ML update of an updatable .mlmodel, run by Core ML itself (MLUpdateTask), then its scores.
// Usage: swift update_on_mac.swift MODEL.mlmodel REQUEST.json OUT.json
// REQUEST.json: {"flat": {input: [values]}, "shapes": {input: [dims]}, "tapped": index, "learning_rate": lr}
// Run by tests/export/coreml/test_personal.py on macOS only: no Core ML runtime exists on Linux, where it has
// never been executed.
import CoreML
import Foundation

let args = CommandLine.arguments
let request = try JSONSerialization.jsonObject(
    with: Data(contentsOf: URL(fileURLWithPath: args[2]))) as! [String: Any]
let compiled = try MLModel.compileModel(at: URL(fileURLWithPath: args[1]))

func multiArray(_ values: [Double], _ shape: [Int]) throws -> MLMultiArray {
    let array = try MLMultiArray(shape: shape.map { NSNumber(value: $0) }, dataType: .float32)
    for (i, v) in values.enumerated() { array[i] = NSNumber(value: v) }
    return array
}

let flat = request["flat"] as! [String: [Double]]
let shapes = request["shapes"] as! [String: [Int]]
var features: [String: MLFeatureValue] = [:]
for (name, values) in flat {
    features[name] = MLFeatureValue(multiArray: try multiArray(values, shapes[name]!))
}
features["tapped"] = MLFeatureValue(int64: Int64(request["tapped"] as! Int))
let example = try MLDictionaryFeatureProvider(dictionary: features)

let config = MLModelConfiguration()
config.computeUnits = .cpuOnly
config.parameters = [MLParameterKey.learningRate: request["learning_rate"] as! Double]
let finished = DispatchSemaphore(value: 0)
var scores: [Double] = []
var failure: String? = nil
let task = try MLUpdateTask(
    forModelAt: compiled, trainingData: MLArrayBatchProvider(array: [example]), configuration: config,
    completionHandler: { context in
        if let error = context.task.error {
            failure = "\(error)"
        } else {
            do {
                let out = try context.model.prediction(from: example).featureValue(for: "scores")!.multiArrayValue!
                scores = (0..<out.count).map { out[$0].doubleValue }
            } catch {
                failure = "\(error)"
            }
        }
        finished.signal()
    })
task.resume()
finished.wait()
if let failure = failure {
    FileHandle.standardError.write(failure.data(using: .utf8)!)
    exit(1)
}
try JSONSerialization.data(withJSONObject: ["scores": scores]).write(to: URL(fileURLWithPath: args[3]))
