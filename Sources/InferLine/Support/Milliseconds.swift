/// Nanoseconds, the simulators' unit, as the milliseconds reports and people read.
public enum Milliseconds {
  /// Milliseconds of `nanoseconds`; `Int64.max`, the simulators' "never served", is infinity. - Complexity: O(1).
  @inlinable public static func of(_ nanoseconds: Int64) -> Double {
    nanoseconds == .max ? .infinity : Double(nanoseconds) / 1e6
  }
}
