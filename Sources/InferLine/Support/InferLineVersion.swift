/// The tool's version, recorded in every report.
public enum InferLineVersion {
  public static let current = "0.1.0"
}
