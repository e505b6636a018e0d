#!/usr/bin/env python3
"""Validates an `inferline export` folder against each system's published schema.

  Scripts/validate-export.py DIR

- Triton: every config.pbtxt is parsed with Triton's own ModelConfig message (model_config_pb2 from the
  tritonclient package, generated from model_config.proto): an unknown field, a wrong type or an unknown enum
  value is an error.
- Kubernetes: every document of every .yaml file whose apiVersion is a built-in group is validated strictly
  (unknown fields are errors) by kubernetes-validate against the Kubernetes 1.31 OpenAPI schema.
Ray Serve and KServe files are parsed as YAML only (their schemas are not checked here).
Prints one line per file checked; exits 1 with the errors when any file fails.
"""
import importlib.util
import os
import sys

import yaml


def triton_config_message():
    import tritonclient  # installed without its grpc extra: load the generated module by path

    path = os.path.join(os.path.dirname(tritonclient.__file__), "grpc", "model_config_pb2.py")
    spec = importlib.util.spec_from_file_location("inferline_model_config_pb2", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ModelConfig


def main(folder):
    errors = []
    checked = 0
    model_config = None
    for root, _, files in os.walk(folder):
        for name in sorted(files):
            path = os.path.join(root, name)
            if name == "config.pbtxt":
                from google.protobuf import text_format

                model_config = model_config or triton_config_message()
                try:
                    text_format.Parse(open(path, encoding="utf-8").read(), model_config())
                    print(f"triton ok: {path}")
                except Exception as e:  # text_format.ParseError
                    errors.append(f"{path}: {e}")
                checked += 1
            elif name.endswith(".yaml"):
                import kubernetes_validate

                try:
                    documents = [d for d in yaml.safe_load_all(open(path, encoding="utf-8")) if d]
                except yaml.YAMLError as e:
                    errors.append(f"{path}: not YAML: {e}")
                    continue
                for d in documents:
                    api = str(d.get("apiVersion", "")) if isinstance(d, dict) else ""
                    group = api.split("/")[0] if "/" in api else ""
                    if api and (group == "" or group.endswith(".k8s.io") or group in ("apps", "batch", "autoscaling")):
                        try:
                            kubernetes_validate.validate(d, "1.31", strict=True)
                            print(f"kubernetes ok: {path}: {d['kind']} {d['metadata']['name']}")
                        except Exception as e:
                            errors.append(f"{path}: {d.get('kind')} {d.get('metadata', {}).get('name')}: {e}")
                    else:
                        print(f"yaml ok (schema not checked): {path}: {d.get('kind', 'document') if isinstance(d, dict) else 'document'}")
                checked += 1
    if checked == 0:
        errors.append(f"{folder}: no config.pbtxt or .yaml files")
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
