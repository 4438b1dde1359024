import Foundation

/// Whether a value JSONSerialization or an app handed over is a boolean (NSNumber wraps both).
func isBool(_ value: Any) -> Bool {
    if value is Bool, !(value is NSNumber) { return true }
    if let n = value as? NSNumber { return CFGetTypeID(n) == CFBooleanGetTypeID() }
    return false
}

/// features.json raw_values.canonical: the one string form of a categorical value, whatever type holds it.
public func canonical(_ value: Any, field: String) throws -> String {
    if let s = value as? String { return s }
    if isBool(value) { return (value as? Bool ?? false) ? "true" : "false" }
    if let i = value as? Int { return String(i) }
    if let n = value as? NSNumber {
        let d = n.doubleValue
        if d.isFinite && d == d.rounded(.down) {
            if abs(d) < 9.0e15 { return String(Int64(d)) }
            return NSDecimalNumber(decimal: Decimal(d)).stringValue  // large integral doubles: no exponent
        }
        throw ContractError(code: "bad_value", field: field)
    }
    if let d = value as? Double {
        return try canonical(NSNumber(value: d), field: field)
    }
    throw ContractError(code: "bad_value", field: field)
}

/// 32-bit FNV-1a over the UTF-8 bytes.
public func fnv1a32(_ text: String, offsetBasis: UInt32, prime: UInt32) -> UInt32 {
    var h = offsetBasis
    for byte in text.utf8 { h = (h ^ UInt32(byte)) &* prime }
    return h
}

/// features.json raw_values.index: an integer, an integral number or a string of decimal digits, in [0, size).
public func indexId(_ value: Any, size: Int, field: String) throws -> Int {
    var i: Int?
    if isBool(value) {
        i = nil
    } else if let n = value as? Int {
        i = n
    } else if let n = value as? NSNumber, n.doubleValue.isFinite, n.doubleValue == n.doubleValue.rounded(.down) {
        i = abs(n.doubleValue) < 9.0e15 ? Int(n.doubleValue) : Int.max
    } else if let s = value as? String, s.range(of: "^-?[0-9]+$", options: .regularExpression) != nil {
        i = Int(s) ?? (s.hasPrefix("-") ? Int.min : Int.max)  // past Int's range: out of range below
    }
    guard let id = i else { throw ContractError(code: "bad_value", field: field) }
    guard id >= 0 && id < size else { throw ContractError(code: "out_of_range", field: field) }
    return id
}
