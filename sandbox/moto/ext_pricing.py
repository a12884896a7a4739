"""The AWS Price List API (`AWSPriceListService`, JSON 1.1) for the sandbox: moto 5.2.1 has none.

Karpenter's controller prices every instance type at start (`GetProducts` with the filters of
`pkg/providers/pricing`: `serviceCode`, `regionCode`, `tenancy`, `productFamily`, `operatingSystem`,
`preInstalledSw`, `capacitystatus`, `marketoption`) and refuses to start when the call fails. This
answers it for moto's own instance-type catalogue, so the prices cover exactly the types moto's
`DescribeInstanceTypes` lists: shared-tenancy "Compute Instance" products for virtualised types and
dedicated "Compute Instance (bare metal)" products for metal types, as the real price list files them.

Prices are synthetic but stable and ordered like real ones: a per-vCPU and per-GiB hourly rate, a
family premium for accelerated and memory-heavy categories, and a small discount for Graviton
(arm64). `DescribeServices` and `GetAttributeValues` answer for `AmazonEC2` as well.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Iterable

TARGET_PREFIX = "AWSPriceListService."
JSON_11 = "application/x-amz-json-1.1"
PAGE_LIMIT = 100

_VCPU_HOUR = 0.0245
_GIB_HOUR = 0.0031
_CATEGORY_FACTOR = {"g": 2.6, "p": 4.0, "inf": 1.8, "trn": 3.0, "dl": 3.5, "x": 1.25, "u": 1.3, "z": 1.35}


def _category(instance_type: str) -> str:
    family = instance_type.split(".", 1)[0]
    letters = ""
    for ch in family:
        if not ch.isalpha():
            break
        letters += ch
    return letters


def on_demand_price(info: dict[str, Any]) -> float:
    """The hourly on-demand price (USD) the sandbox quotes for one instance type of moto's catalogue."""
    vcpus = int(info.get("VCpuInfo", {}).get("DefaultVCpus", 1) or 1)
    gib = float(info.get("MemoryInfo", {}).get("SizeInMiB", 1024) or 1024) / 1024.0
    price = vcpus * _VCPU_HOUR + gib * _GIB_HOUR
    category = _category(str(info.get("InstanceType", "")))
    price *= _CATEGORY_FACTOR.get(category, 1.0)
    archs = info.get("ProcessorInfo", {}).get("SupportedArchitectures", [])
    if archs == ["arm64"]:
        price *= 0.8
    return round(price, 4)


def _catalogue() -> dict[str, dict[str, Any]]:
    from moto.ec2.models.instance_types import INSTANCE_TYPES

    return INSTANCE_TYPES


def _product(region: str, name: str, info: dict[str, Any]) -> dict[str, Any]:
    metal = bool(info.get("BareMetal"))
    sku = "SANDBOX" + hashlib.sha256(f"{region}/{name}".encode()).hexdigest()[:12].upper()
    price = on_demand_price(info)
    return {
        "product": {
            "productFamily": "Compute Instance (bare metal)" if metal else "Compute Instance",
            "attributes": {
                "instanceType": name,
                "instanceFamily": "General purpose",
                "vcpu": str(info.get("VCpuInfo", {}).get("DefaultVCpus", "")),
                "memory": f"{int(info.get('MemoryInfo', {}).get('SizeInMiB', 0)) / 1024:g} GiB",
                "regionCode": region,
                "tenancy": "Dedicated" if metal else "Shared",
                "operatingSystem": "Linux",
                "preInstalledSw": "NA",
                "capacitystatus": "Used",
                "marketoption": "OnDemand",
                "servicecode": "AmazonEC2",
                "productFamily": "Compute Instance (bare metal)" if metal else "Compute Instance",
            },
            "sku": sku,
        },
        "serviceCode": "AmazonEC2",
        "terms": {
            "OnDemand": {
                f"{sku}.JRTCKXETXF": {
                    "priceDimensions": {
                        f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                            "unit": "Hrs",
                            "description": f"${price} per On Demand Linux {name} Instance Hour",
                            "pricePerUnit": {"USD": f"{price:.10f}"},
                        }
                    },
                    "sku": sku,
                    "offerTermCode": "JRTCKXETXF",
                }
            }
        },
        "version": "sandbox",
        "publicationDate": "2026-01-01T00:00:00Z",
    }


def _matches(attributes: dict[str, Any], filters: Iterable[dict[str, Any]]) -> bool:
    for f in filters:
        field, value = str(f.get("Field", "")), str(f.get("Value", ""))
        if field == "serviceCode":
            if value != "AmazonEC2":
                return False
            continue
        have = attributes.get(field)
        if have is None:
            # a field the sandbox's products do not carry matches nothing, as an unknown field does in AWS
            return False
        if str(have).lower() != value.lower():
            return False
    return True


def get_products(body: dict[str, Any], region_default: str) -> dict[str, Any]:
    """`GetProducts`: the catalogue's products that match every filter, paged by `NextToken`."""
    if body.get("ServiceCode") not in (None, "AmazonEC2"):
        return {"PriceList": [], "FormatVersion": "aws_v1"}
    filters = list(body.get("Filters") or [])
    region = next((str(f.get("Value")) for f in filters if f.get("Field") == "regionCode"), region_default)
    products = []
    for name in sorted(_catalogue()):
        product = _product(region, name, _catalogue()[name])
        if _matches(product["product"]["attributes"], filters):
            products.append(product)
    limit = max(1, min(int(body.get("MaxResults") or PAGE_LIMIT), PAGE_LIMIT))
    start = int(body.get("NextToken") or 0)
    page = products[start : start + limit]
    out: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": [json.dumps(p) for p in page]}
    if start + limit < len(products):
        out["NextToken"] = str(start + limit)
    return out


def _describe_services(_body: dict[str, Any], _region: str) -> dict[str, Any]:
    return {
        "FormatVersion": "aws_v1",
        "Services": [
            {
                "ServiceCode": "AmazonEC2",
                "AttributeNames": ["instanceType", "regionCode", "tenancy", "productFamily", "operatingSystem"],
            }
        ],
    }


def _attribute_values(body: dict[str, Any], region: str) -> dict[str, Any]:
    name = str(body.get("AttributeName", ""))
    values = sorted({str(_product(region, n, i)["product"]["attributes"].get(name, "")) for n, i in _catalogue().items()})
    return {"AttributeValues": [{"Value": v} for v in values if v]}


OPERATIONS: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
    "GetProducts": get_products,
    "DescribeServices": _describe_services,
    "GetAttributeValues": _attribute_values,
}


class PricingService:
    """WSGI middleware that answers Price List API requests before moto, which would return an HTML 500."""

    def __init__(self, app: Any, region: str = "us-east-1") -> None:
        self.app = app
        self.region = region

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not target.startswith(TARGET_PREFIX):
            return self.app(environ, start_response)
        operation = target[len(TARGET_PREFIX) :]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        handler = OPERATIONS.get(operation)
        if handler is None:
            return self._reply(start_response, "400 Bad Request", {
                "__type": "UnknownOperationException",
                "message": f"the sandbox's Price List API does not implement {operation}",
            })
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self._reply(start_response, "400 Bad Request", {
                "__type": "SerializationException", "message": "request body is not JSON"})
        return self._reply(start_response, "200 OK", handler(body, self.region))

    @staticmethod
    def _reply(start_response: Any, status: str, payload: dict[str, Any]) -> list[bytes]:
        data = json.dumps(payload).encode()
        start_response(status, [("Content-Type", JSON_11), ("Content-Length", str(len(data))),
                                ("x-amzn-RequestId", "sandbox-pricing")])
        return [data]
