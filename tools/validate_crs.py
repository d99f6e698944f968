"""Validates custom resources (KEDA ScaledObject, RabbitmqCluster) against the openAPIV3Schema of
their CustomResourceDefinitions, strictly (unknown fields refused where the CRD does not allow
them). Usage: validate_crs.py CRD.yaml [CRD.yaml ...] -- MANIFEST.yaml [...]"""
import sys

import jsonschema
import yaml


def strict(schema):
    """Adds additionalProperties: false to every object schema that lists its properties and
    does not say otherwise (what the API server's structural pruning amounts to)."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" and "properties" in schema \
                and "additionalProperties" not in schema \
                and not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema = dict(schema, additionalProperties=False)
        return {k: strict(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


def main(argv):
    split = argv.index("--")
    schemas = {}
    for path in argv[:split]:
        for crd in yaml.safe_load_all(open(path)):
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = strict(version["schema"]["openAPIV3Schema"])
                schema["properties"].pop("metadata", None)
                schemas[(f"{group}/{version['name']}", kind)] = schema
    failures = checked = 0
    for path in argv[split + 1:]:
        for doc in yaml.safe_load_all(open(path)):
            if not doc:
                continue
            key = (doc.get("apiVersion"), doc.get("kind"))
            if key not in schemas:
                continue
            checked += 1
            body = {k: v for k, v in doc.items() if k != "metadata"}
            errors = list(jsonschema.Draft7Validator(schemas[key]).iter_errors(body))
            name = doc.get("metadata", {}).get("name")
            for e in errors:
                failures += 1
                print(f"FAIL {path}: {key[1]}/{name}: {'.'.join(map(str, e.path))}: {e.message}")
            if not errors:
                print(f"ok   {path}: {key[1]}/{name} matches its CRD ({key[0]})")
    if checked == 0:
        print("no custom resource was checked", file=sys.stderr)
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
