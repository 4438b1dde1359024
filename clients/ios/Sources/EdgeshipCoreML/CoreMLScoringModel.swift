#if canImport(CoreML)
import CoreML
import EdgeshipClient

/// A bundle's .mlmodel behind ScoringModel. The NeuralNetwork files of contract 2 take float32 ids (features.json
/// `files` says so per file); the model runs on the CPU, where float32 holds every id below 2^24 exactly.
public final class CoreMLScoringModel: ScoringModel {
    private let model: MLModel
    private let features: Features

    public init(compiledModelAt url: URL, features: Features) throws {
        let configuration = MLModelConfiguration()
        configuration.computeUnits = .cpuOnly
        model = try MLModel(contentsOf: url, configuration: configuration)
        self.features = features
    }

    private func array(_ values: [Float], _ shape: [Int]) throws -> MLMultiArray {
        let a = try MLMultiArray(shape: shape.map { NSNumber(value: $0) }, dataType: .float32)
        for (i, v) in values.enumerated() { a[i] = NSNumber(value: v) }
        return a
    }

    public func score(_ inputs: Encoded) throws -> [Float] {
        var feeds: [String: MLFeatureValue] = [:]
        for input in features.inputs {
            let values: [Float]
            switch input.name {
            case "context": values = inputs.context.map(Float.init)
            case "history": values = inputs.history.map(Float.init)
            case "candidates": values = inputs.candidates.map(Float.init)
            default: values = inputs.candidateFeatures
            }
            feeds[input.name] = MLFeatureValue(multiArray: try array(values, input.shape))
        }
        let out = try model.prediction(from: try MLDictionaryFeatureProvider(dictionary: feeds))
        guard let scores = out.featureValue(for: features.output)?.multiArrayValue else {
            throw BundleError(message: "the model returned no \(features.output)")
        }
        return (0..<scores.count).map { scores[$0].floatValue }
    }
}
#endif
