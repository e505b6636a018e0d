"""Derives the sample model profiles from published figures.

Run from the repository root with the shared data beside the checkout:
    python3 SampleTraces/profiles/derive_profiles.py ../shared/data/published-profiles.csv
It rewrites SampleTraces/profiles/profiles-2026.csv and profiles-2019.csv. Every number is either a published
point (the source named in the row's comment block) or comes from the model below; the files say which.

Model: batch latency L(n) = fixed + per_item * n (milliseconds), fitted by least squares to a published series.
Hardware without a published series for a model is scaled from the model's reference series by two factors
(fixed, per-item) per hardware type, each derived from ResNet-50 series measured in one scope on both types.
"""
import csv
import sys

published = list(csv.DictReader(open(sys.argv[1])))


def series(model_prefix, hardware_prefix, scope, column="latency_ms_p99"):
    rows = [r for r in published
            if r["model"].startswith(model_prefix) and r["hardware"].startswith(hardware_prefix)
            and r["latency_scope"] == scope and r["batch_size"] and r[column]]
    return [(int(r["batch_size"]), float(r[column])) for r in rows]


def fit(points):
    n = len(points)
    sx = sum(b for b, _ in points); sy = sum(l for _, l in points)
    sxx = sum(b * b for b, _ in points); sxy = sum(b * l for b, l in points)
    per_item = (n * sxy - sx * sy) / (n * sxx - sx * sx)
    fixed = (sy - per_item * sx) / n
    return max(fixed, 0.05), max(per_item, 0.001)


# Reference series (A100, NVIDIA's Triton measurements where they exist), p99 milliseconds.
resnet_a100 = series("ResNet-50 v1.5", "NVIDIA A100 80GB", "triton-offline")
resnet_t4 = series("ResNet-50 v1.5", "NVIDIA T4", "triton-offline")
resnet_v100 = series("ResNet-50 v1.5", "NVIDIA V100 32GB", "triton-offline")
paddle_a100 = series("ResNet-50 v1.5", "NVIDIA A100 80GB", "paddle-trt-synthetic")
paddle_a10 = series("ResNet-50 v1.5", "NVIDIA A10", "paddle-trt-synthetic")

ref = fit(resnet_a100)
factors = {"A100": (1.0, 1.0)}
for name, pts in [("T4", resnet_t4), ("V100", resnet_v100)]:
    f = fit(pts)
    factors[name] = (f[0] / ref[0], f[1] / ref[1])
pa100, pa10 = fit(paddle_a100), fit(paddle_a10)
factors["A10G"] = (pa10[0] / pa100[0], pa10[1] / pa100[1])
# No L4 batch sweep was published: L4 is taken as the A10G (same class of 24 GB inference card).
factors["L4"] = factors["A10G"]
# H100: MLPerf offline ResNet-50 throughput is 6.87x the L4's (88,526 vs 12,882 q/s); per-item scales by that,
# the fixed part is taken as the A100's.
factors["H100"] = (1.0, factors["L4"][1] / (88526 / 12881.7))
# 2019: K80 has no published series here; assumed 4x the V100's per-item cost and 2x its fixed cost, applied to
# each model's V100 fit (see rows_for).

# CPU, one 4-vCPU instance (2 physical cores): OpenVINO ResNet-50 FP32 on 2x Xeon 8380 (80 cores) does
# 1,155 q/s, so 2 cores about 28.9 q/s: 34.6 ms per item; a fixed 2 ms (assumed).
cpu_resnet = (2.0, 1000 / (1155.29 * 2 / 80))

models = {
    # name: (reference series on A100 or None, (fixed, per_item) on A100 otherwise, CPU fixed/per-item, note)
    "resnet50": (resnet_a100, None, "ResNet-50 v1.5 FP16, Triton (NVIDIA DeepLearningExamples), p99"),
    "bert-large": (series("BERT-large SQuAD v1.1", "NVIDIA A100", "triton-offline"), None,
                   "BERT-large seq 384 FP16, Triton (NVIDIA DeepLearningExamples), p99"),
    "ssd320": (series("SSD320", "NVIDIA A100", "framework-tf1"), None,
               "SSD320 v1.2 ResNet-50 backbone, TensorFlow 1 AMP (framework overhead included), p99"),
    "efficientnet-b0": (series("EfficientNet-B0", "NVIDIA A100", "framework-pytorch"), None,
                        "EfficientNet-B0 PyTorch AMP (framework overhead included), p99"),
}
fits = {name: fit(s) for name, (s, _, _) in models.items()}
# Assumed models (no published figures): BERT-base as a third of BERT-large's costs (a third of the layers'
# width x depth); a fastText-style language identifier; image decoding and resizing on CPU only.
fits["bert-base"] = (fits["bert-large"][0] / 3, fits["bert-large"][1] / 3)
fits["langid"] = (0.4, 0.01)
resnet_fit = fits["resnet50"]

GPU_SIZES = [1, 2, 4, 8, 16, 32]
CPU_SIZES = [1, 2, 4, 8]


def cpu_fit(model):
    if model == "preprocess":
        return (3.0, 1.5)
    if model == "langid":
        return (0.3, 0.05)
    f = fits[model]
    # Scale the CPU ResNet-50 costs by the model's GPU cost relative to ResNet-50.
    return (cpu_resnet[0] * f[0] / resnet_fit[0], cpu_resnet[1] * f[1] / resnet_fit[1])


# Published series used as printed (p99, one scope per model), keyed by (model, hardware).
measured = {
    ("resnet50", "T4"): resnet_t4, ("resnet50", "V100"): resnet_v100, ("resnet50", "A100"): resnet_a100,
    ("bert-large", "T4"): series("BERT-large SQuAD v1.1", "NVIDIA T4", "triton-offline"),
    ("bert-large", "V100"): series("BERT-large SQuAD v1.1", "NVIDIA V100", "triton-offline"),
    ("bert-large", "A100"): series("BERT-large SQuAD v1.1", "NVIDIA A100", "triton-offline"),
    ("ssd320", "T4"): series("SSD320", "NVIDIA T4", "framework-tf1"),
    ("ssd320", "V100"): series("SSD320", "NVIDIA V100", "framework-tf1"),
    ("ssd320", "A100"): series("SSD320", "NVIDIA A100", "framework-tf1"),
    ("efficientnet-b0", "V100"): series("EfficientNet-B0", "NVIDIA V100", "framework-pytorch"),
    ("efficientnet-b0", "A100"): series("EfficientNet-B0", "NVIDIA A100", "framework-pytorch"),
}


def rows_for(model, hw):
    if (model, hw) in measured and measured[(model, hw)]:
        return [(n, latency, "published") for n, latency in sorted(measured[(model, hw)]) if n <= 64]
    if hw == "CPU":
        a, b = cpu_fit(model)
        return [(n, a + b * n, "derived") for n in CPU_SIZES]
    if model == "preprocess":
        return []
    if hw == "K80":
        # From the model's V100 profile (published series where there is one): 2x fixed, 4x per item.
        v100 = measured.get((model, "V100"))
        va, vb = fit(v100) if v100 else (fits[model][0] * factors["V100"][0], fits[model][1] * factors["V100"][1])
        return [(n, 2 * va + 4 * vb * n, "derived") for n in GPU_SIZES]
    a, b = fits[model]
    fa, fb = factors[hw]
    return [(n, a * fa + b * fb * n, "derived") for n in GPU_SIZES]


def write(path, hardware, title):
    with open(path, "w") as out:
        out.write(f"# Sample model profiles for the {title} hardware catalog.\n")
        out.write("# Batch latency in milliseconds (statistic column); derived with SampleTraces/profiles/derive_profiles.py\n")
        out.write("# from ../shared/data/published-profiles.csv. Model: L(n) = fixed + per_item x n, least squares on:\n")
        for name, (_, _, note) in models.items():
            a, b = fits[name]
            out.write(f"#   {name}: {note}; A100 fit {a:.3f} + {b:.4f} n ms\n")
        out.write("#   bert-base: assumed a third of bert-large; langid (fastText-style): assumed 0.4 + 0.01 n ms on GPU,\n")
        out.write("#   0.3 + 0.05 n ms on CPU; preprocess (decode + resize): assumed 3 + 1.5 n ms, CPU only.\n")
        out.write("# Hardware factors (fixed, per-item) against A100, from ResNet-50 series in one scope on both types:\n")
        for hw in hardware:
            if hw in factors:
                out.write(f"#   {hw}: {factors[hw][0]:.3f}, {factors[hw][1]:.3f}\n")
        out.write("#   T4, V100: Triton series; A10G: Paddle-TRT A10 vs A100 (the A10 card, close to AWS's A10G); L4: taken\n")
        out.write("#   as A10G (no batch sweep published); H100: MLPerf offline ResNet-50 6.87x L4; K80: 2x fixed, 4x per item of\n")
        out.write("#   the model's V100 fit (assumed).\n")
        out.write("#   CPU (4 vCPU): OpenVINO ResNet-50 FP32 on 2x Xeon 8380 scaled by cores to 2 cores; other models by\n")
        out.write("#   their GPU cost relative to ResNet-50.\n")
        out.write("# Rows marked 'published' are the published points as printed, but for one odd EfficientNet-B0 point\n")
        out.write("# on A100 whose latency falls from batch 32 to 64: it is kept below as a comment (uncommented,\n")
        out.write("# inferline validate warns about it and --strict refuses it).\n")
        out.write("model,hardware,batch_size,latency_ms,statistic,source\n")
        for model in ["preprocess", "resnet50", "ssd320", "efficientnet-b0", "langid", "bert-base", "bert-large"]:
            for hw in hardware:
                previous = 0.0
                for n, latency, source in rows_for(model, hw):
                    comment = "# " if latency < previous else ""
                    out.write(f"{comment}{model},{hw},{n},{latency:.3f},p99,{source}\n")
                    previous = max(previous, latency)


write("SampleTraces/profiles/profiles-2026.csv", ["CPU", "T4", "A10G", "L4", "A100", "H100"], "2026 (current)")
write("SampleTraces/profiles/profiles-2019.csv", ["CPU", "K80", "V100"], "2019 (InferLine paper era)")
