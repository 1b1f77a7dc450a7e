"""``croissant.json``: the release described as Croissant 1.0 JSON-LD (MLCommons).

One ``cr:FileObject`` per file of the release with its sha256, one ``cr:RecordSet`` per
CSV table whose fields name its columns. ``mlcroissant`` validates it.
"""

from __future__ import annotations

from typing import Any

from .manifest import MANIFEST_JSON, TABLES

CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
#: The Croissant 1.0 JSON-LD context, as its specification gives it.
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
INTEGERS = {"pos_score", "neu_score", "neg_score", "index", "width", "height", "target"}
FLOATS = {"start", "duration", "video_duration", "score"}
PAPER = ("Gaurav Verma, Eeshan Gunesh Dhekane, Tanaya Guha. Learning Affective "
         "Correspondence between Music and Image. ICASSP 2019.")


def _data_type(column: str) -> str:
    if column in INTEGERS:
        return "sc:Integer"
    if column in FLOATS:
        return "sc:Float"
    return "sc:Text"


def croissant(name: str, version: str, created: str, description: str,
              files: dict[str, str], url: str = "", license_url: str = "") -> dict[str, Any]:
    """The JSON-LD document; ``files`` maps each file name to its sha256."""
    distribution = []
    for fname, sha in sorted(files.items()):
        distribution.append({
            "@type": "cr:FileObject", "@id": fname, "name": fname,
            "description": (TABLES[fname[:-4]].description if fname.endswith(".csv")
                            else "Versions, configuration and checksums of the release."),
            "contentUrl": fname,
            "encodingFormat": "text/csv" if fname.endswith(".csv") else "application/json",
            "sha256": sha,
        })
    record_sets = []
    for table in TABLES.values():
        if table.file not in files:
            continue
        record_sets.append({
            "@type": "cr:RecordSet", "@id": table.name, "name": table.name,
            "description": table.description,
            "key": [{"@id": f"{table.name}/{c}"} for c in table.key],
            "field": [{
                "@type": "cr:Field", "@id": f"{table.name}/{c}", "name": c,
                "description": f"Column {c} of {table.file}.",
                "dataType": _data_type(c),
                "source": {"fileObject": {"@id": table.file}, "extract": {"column": c}},
            } for c in table.columns],
        })
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": name,
        "description": description,
        "version": version,
        "datePublished": created[:10],
        "citeAs": PAPER,
        "license": license_url or "https://creativecommons.org/licenses/by/4.0/",
        "keywords": ["music emotion", "image emotion", "cross-modal", "IMAC"],
        "isLiveDataset": False,
        "distribution": distribution,
        "recordSet": record_sets,
    }
    if url:
        doc["url"] = url
    return doc


__all__ = ["CONFORMS_TO", "MANIFEST_JSON", "croissant"]
