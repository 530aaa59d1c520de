"""C2PA provenance for originals (optional): a signed manifest saying the picture was made by a
trained model, with c2pa-python (the Content Authenticity Initiative's library).

On only when an operator configures a signing certificate chain and its private key
(C2PA_CERT_CHAIN_FILE, C2PA_PRIVATE_KEY_FILE; README "Labelling"). The manifest holds one
`c2pa.actions` assertion: `c2pa.created` with the IPTC digital source type
`trainedAlgorithmicMedia` and our generator's name as the software agent. It is added on top of
the TC260 label (gallery/labels.py), which stays in the file.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import c2pa
from django.conf import settings

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
_MIME_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def enabled() -> bool:
    return bool(settings.C2PA_CERT_CHAIN_FILE and settings.C2PA_PRIVATE_KEY_FILE)


def manifest(*, generator: str, title: str) -> dict:
    return {
        "claim_generator_info": [{"name": settings.AIGC_PRODUCER_NAME}],
        "title": title,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                            "softwareAgent": {"name": generator},
                        }
                    ]
                },
            }
        ],
    }


def sign(data: bytes, *, image_format: str, generator: str, title: str) -> bytes:
    """The picture with a signed C2PA manifest embedded. Raises c2pa.C2paError."""
    info = c2pa.C2paSignerInfo(
        getattr(c2pa.C2paSigningAlg, settings.C2PA_SIGNING_ALG),
        Path(settings.C2PA_CERT_CHAIN_FILE).read_bytes(),
        Path(settings.C2PA_PRIVATE_KEY_FILE).read_bytes(),
        settings.C2PA_TIMESTAMP_URL.encode() if settings.C2PA_TIMESTAMP_URL else None,
    )
    signer = c2pa.Signer.from_info(info)
    try:
        builder = c2pa.Builder(json.dumps(manifest(generator=generator, title=title)))
        signed = io.BytesIO()
        builder.sign(signer, _MIME_TYPES[image_format], io.BytesIO(data), signed)
        return signed.getvalue()
    finally:
        signer.close()
