#if canImport(CoreML)
import CoreML
import EdgeshipClient

/// A bundle's Core ML file behind ScoringModel, fed as features.json `files[file]` declares it: the ML Programs
/// (.mlpackage) take Int32 ids and run on any compute unit; the NeuralNetwork files (.mlmodel) take Float32 ids
/// and run on the CPU only, where float32 holds every id below 2^24 exactly (the GPU and Neural Engine compute in
/// float16, exact only below 2048).
public final class CoreMLScoringModel: ScoringModel {
    private let model: MLModel
    private let io: FileIO
    private let output: String

    /// url: the compiled model (.mlmodelc; MLModel.compileModel(at:) makes it from the shipped file);
    /// file: the shipped file's name in the bundle, e.g. "ranker_int8.mlpackage".
    public init(compiledModelAt url: URL, file: String, features: Features) throws {
        guard let io = features.files[file] else {
            throw BundleError(message: "features.json: files has no entry \(file)")
        }
        let floatIds = io.inputs.contains { $0.name != "candidate_features" && $0.dtype == "float32" }
        let configuration = MLModelConfiguration()
        configuration.computeUnits = floatIds ? .cpuOnly : .all
        model = try MLModel(contentsOf: url, configuration: configuration)
        self.io = io
        output = features.output
    }

    private func array(_ input: InputRecord, ints: [Int32]?, floats: [Float]) throws -> MLMultiArray {
        let shape = input.shape.map { NSNumber(value: $0) }
        switch input.dtype {
        case "int32":
            guard let ints = ints else { throw BundleError(message: "\(input.name): int32 input with float values") }
            let a = try MLMultiArray(shape: shape, dataType: .int32)
            for (i, v) in ints.enumerated() { a[i] = NSNumber(value: v) }
            return a
        case "float32":
            let a = try MLMultiArray(shape: shape, dataType: .float32)
            let values = ints.map { $0.map(Float.init) } ?? floats
            for (i, v) in values.enumerated() { a[i] = NSNumber(value: v) }
            return a
        default:
            throw BundleError(message: "\(input.name): dtype \(input.dtype) is not one this client feeds")
        }
    }

    public func score(_ inputs: Encoded) throws -> [Float] {
        var feeds: [String: MLFeatureValue] = [:]
        for input in io.inputs {
            let ids: [Int32]?
            switch input.name {
            case "context": ids = inputs.context.map { Int32($0) }
            case "history": ids = inputs.history.map { Int32($0) }
            case "candidates": ids = inputs.candidates.map { Int32($0) }
            default: ids = nil
            }
            feeds[input.name] = MLFeatureValue(multiArray: try array(input, ints: ids, floats: inputs.candidateFeatures))
        }
        let out = try model.prediction(from: try MLDictionaryFeatureProvider(dictionary: feeds))
        guard let scores = out.featureValue(for: output)?.multiArrayValue else {
            throw BundleError(message: "the model returned no \(output)")
        }
        return (0..<scores.count).map { scores[$0].floatValue }
    }
}
#endif
