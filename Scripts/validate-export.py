#!/usr/bin/env python3
"""Validates an `inferline export` folder against each system's published schema.

  Scripts/validate-export.py DIR [DIR ...]

- Triton: every config.pbtxt is parsed with Triton's own ModelConfig message (model_config_pb2 from the
  tritonclient package, generated from model_config.proto): an unknown field, a wrong type or an unknown enum
  value is an error.
- Kubernetes: every document of every .yaml file whose apiVersion is a built-in group is validated strictly
  (unknown fields are errors) by kubernetes-validate against the Kubernetes 1.31 OpenAPI schema.
- KServe: every InferenceService is checked field by field against the KServe SDK's models (the kserve package,
  generated from KServe's OpenAPI spec, with the kubernetes client's models for the core types): an unknown
  field, a value of the wrong type or a missing required field is an error.
- Ray Serve: serve-config.yaml is validated by Ray's own ServeDeploySchema (ray[serve]), and, because that
  schema ignores keys it does not know, every key is also checked against the schema's fields.
- KEDA: every ScaledObject (keda.sh/v1alpha1) is validated with jsonschema against the fields of KEDA's
  ScaledObject CRD that an export may use (types as the CRD gives them: int32 counts, trigger metadata a map of
  strings), strictly (the API server would prune an unknown field, such as `minReplicas`, without a word); each
  cron trigger must have a valid IANA timezone, start and end as five-field cron expressions that differ, and
  desiredReplicas as a whole number in a string.
Prints one line per file checked; exits 1 with the errors when any file fails. Given several folders (the
schemas are loaded once), each folder's lines sit between "== DIR" and "== DIR: exit N", N as for one folder.
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


def openapi_models():
    """The kserve and kubernetes packages' generated models, without running the packages' own __init__ (which
    import a model server and an API client this check does not need)."""
    import importlib.util
    import re
    import types

    roots = {}
    for top in ("kserve", "kubernetes"):
        if top in sys.modules and getattr(sys.modules[top], "__path__", None):
            roots[top] = list(sys.modules[top].__path__)[0]
        else:
            spec = importlib.util.find_spec(top)
            roots[top] = list(spec.submodule_search_locations)[0]
    for name in ["kserve", "kubernetes", "kubernetes.client"]:
        if name not in sys.modules:
            module = types.ModuleType(name)
            module.__path__ = [os.path.join(roots[name.split(".")[0]], *name.split(".")[1:])]
            sys.modules[name] = module

    def model(type_name):
        module = re.sub(r"(?<!^)(?=[A-Z])", "_", type_name).lower()
        for package in ("kserve.models", "kubernetes.client.models"):
            try:
                return getattr(importlib.import_module(f"{package}.{module}"), type_name)
            except ModuleNotFoundError:
                continue
        raise KeyError(type_name)

    def build(value, type_name, path):
        """The value as an instance of the model, checked: unknown keys, wrong types and missing required fields
        raise ValueError naming the path."""
        if type_name in ("str", "int", "bool", "float", "object", "datetime", "date"):
            ok = {
                "str": isinstance(value, str),
                "int": isinstance(value, int) and not isinstance(value, bool),
                "bool": isinstance(value, bool),
                "float": isinstance(value, (int, float)) and not isinstance(value, bool),
            }.get(type_name, True)
            if not ok:
                raise ValueError(f"{path}: {value!r} is not {type_name}")
            return value
        if type_name.startswith("list["):
            if not isinstance(value, list):
                raise ValueError(f"{path}: not a list")
            return [build(v, type_name[5:-1], f"{path}[{i}]") for i, v in enumerate(value)]
        if type_name.startswith("dict("):
            if not isinstance(value, dict):
                raise ValueError(f"{path}: not a mapping")
            inner = type_name[5:-1].split(", ", 1)[1]
            return {k: build(v, inner, f"{path}.{k}") for k, v in value.items()}
        klass = model(type_name)
        if not isinstance(value, dict):
            raise ValueError(f"{path}: not a mapping ({type_name})")
        by_json = {json: attr for attr, json in klass.attribute_map.items()}
        unknown = sorted(set(value) - set(by_json))
        if unknown:
            raise ValueError(f"{path}: unknown field(s) {unknown} in {type_name}")
        kwargs = {by_json[k]: build(v, klass.openapi_types[by_json[k]], f"{path}.{k}") for k, v in value.items()}
        return klass(**kwargs)  # the generated setters check required fields and enumerations

    return build


def ray_serve_check(document, path):
    """Ray's ServeDeploySchema validates the file; keys the schema does not define fail too (it ignores them)."""
    import typing

    import pydantic
    from ray.serve.schema import ServeDeploySchema

    ServeDeploySchema.model_validate(document)

    def models_in(annotation):
        origin = typing.get_origin(annotation)
        if origin is None:
            return [annotation] if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel) else []
        return [m for a in typing.get_args(annotation) for m in models_in(a)]

    def walk(value, model, where):
        if not isinstance(value, dict):
            return
        fields = {}
        for name, info in model.model_fields.items():
            fields[name] = info
            if info.alias:
                fields[info.alias] = info
        for key, item in value.items():
            if key not in fields:
                raise ValueError(f"{where}: '{key}' is not a field of {model.__name__}")
            for nested in models_in(fields[key].annotation):
                items = item if isinstance(item, list) else [item]
                for i, x in enumerate(items):
                    walk(x, nested, f"{where}.{key}" + (f"[{i}]" if isinstance(item, list) else ""))

    walk(document, ServeDeploySchema, path)


INT32 = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
# The ScaledObject fields an export may use, typed as KEDA's CRD (keda.sh_scaledobjects.yaml, v1alpha1) types them.
KEDA_SCALED_OBJECT = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {"name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 253},
                           "namespace": {"type": "string"}, "labels": STRING_MAP, "annotations": STRING_MAP},
        },
        "spec": {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "additionalProperties": False,
            "properties": {
                "scaleTargetRef": {
                    "type": "object", "required": ["name"], "additionalProperties": False,
                    "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                   "name": {"type": "string"}, "envSourceContainerName": {"type": "string"}},
                },
                "minReplicaCount": INT32, "maxReplicaCount": INT32, "idleReplicaCount": INT32,
                "pollingInterval": INT32, "cooldownPeriod": INT32,
                "triggers": {
                    "type": "array", "minItems": 1,
                    "items": {
                        "type": "object", "required": ["type", "metadata"], "additionalProperties": False,
                        "properties": {"type": {"type": "string"}, "name": {"type": "string"},
                                       "metadata": STRING_MAP, "metricType": {"type": "string"}},
                    },
                },
            },
        },
    },
}


def keda_check(document):
    """Raises with the reason when a ScaledObject is not one KEDA accepts (schema, then cron triggers)."""
    import re
    import zoneinfo

    import jsonschema

    jsonschema.validate(document, KEDA_SCALED_OBJECT)
    spec = document["spec"]
    if spec.get("minReplicaCount", 0) > spec.get("maxReplicaCount", 100):
        raise ValueError("minReplicaCount is above maxReplicaCount")
    field = r"(\*|\d+)"
    for t in spec["triggers"]:
        if t["type"] != "cron":
            continue
        m = t["metadata"]
        missing = {"timezone", "start", "end", "desiredReplicas"} - set(m)
        if missing:
            raise ValueError(f"cron trigger without {sorted(missing)}")
        unknown = set(m) - {"timezone", "start", "end", "desiredReplicas"}
        if unknown:
            raise ValueError(f"cron trigger with unknown keys {sorted(unknown)}")
        zoneinfo.ZoneInfo(m["timezone"])
        for key in ("start", "end"):
            parts = m[key].split()
            if len(parts) != 5 or not all(re.fullmatch(field, p) for p in parts):
                raise ValueError(f"{key} {m[key]!r} is not a five-field cron expression")
            if parts[0] != "*" and not 0 <= int(parts[0]) <= 59 or parts[1] != "*" and not 0 <= int(parts[1]) <= 23:
                raise ValueError(f"{key} {m[key]!r} has a minute or hour out of range")
        if m["start"] == m["end"]:
            raise ValueError("start and end are the same (KEDA refuses it)")
        if not re.fullmatch(r"\d+", m["desiredReplicas"]):
            raise ValueError(f"desiredReplicas {m['desiredReplicas']!r} is not a whole number")


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
                    if name == "serve-config.yaml":
                        try:
                            ray_serve_check(d, path)
                            print(f"ray-serve ok: {path}: {len(d.get('applications', []))} application(s)")
                        except Exception as e:
                            errors.append(f"{path}: Ray Serve config: {e}")
                    elif api == "serving.kserve.io/v1beta1" and d.get("kind") == "InferenceService":
                        try:
                            openapi_models()(d, "V1beta1InferenceService", d.get("metadata", {}).get("name", "?"))
                            print(f"kserve ok: {path}: InferenceService {d['metadata']['name']}")
                        except Exception as e:
                            errors.append(f"{path}: InferenceService: {e}")
                    elif api == "keda.sh/v1alpha1":
                        try:
                            keda_check(d)
                            print(f"keda ok: {path}: ScaledObject {d['metadata']['name']}")
                        except Exception as e:
                            errors.append(f"{path}: KEDA {d.get('kind')}: {e}")
                    elif api and (group == "" or group.endswith(".k8s.io") or group in ("apps", "batch", "autoscaling")):
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
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    if len(sys.argv) == 2:
        sys.exit(main(sys.argv[1]))
    # Both streams line by line, so that a folder's errors stay between its two markers in a merged pipe.
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    worst = 0
    for folder in sys.argv[1:]:
        print(f"== {folder}")
        status = main(folder)
        print(f"== {folder}: exit {status}")
        worst = max(worst, status)
    sys.exit(worst)
