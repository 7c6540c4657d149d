"""Keys and sealed bundles (the no-network sync path), shared by the laptop and HQ.

A bundle is encrypted to its recipient and signed by its sender:

``MAGIC | u32 header length | header (JSON) | ciphertext | Ed25519 signature (64 bytes)``

* The header names the HQ instance, sender, recipient, bundle id and kind, and carries the
  ephemeral X25519 public key and the AES-GCM nonce. It is authenticated twice: as AES-GCM
  associated data and under the signature.
* The content key is HKDF-SHA256 over the X25519 shared secret between a fresh ephemeral
  key and the recipient's static key (salt: both public keys), so only the recipient can
  read it; the payload is zlib-compressed JSON.
* The signature covers every byte before it, so any change to the file is detected before
  anything is decrypted or applied.
"""

from __future__ import annotations

import json
import os
import struct
import uuid
import zlib
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from workstation import clock
from workstation.errors import BadInput, IntegrityFailure

MAGIC = b"CWSBUNDLE1\n"
ALGORITHM = "X25519-HKDF-SHA256-AES256GCM+Ed25519"
MAX_HEADER = 16 * 1024
MAX_PAYLOAD = 2 * 1024 * 1024 * 1024  # inflated
SIG_LEN = 64


class BundleError(IntegrityFailure):
    """A bundle that fails verification (tampered, truncated, wrong key). Nothing applied."""


class WrongRecipient(BadInput):
    """A sound bundle addressed to another HQ or another device. Nothing applied."""


_RAW = serialization.Encoding.Raw
_RAWPUB = serialization.PublicFormat.Raw
_RAWPRIV = serialization.PrivateFormat.Raw
_NOENC = serialization.NoEncryption()


def new_sign_key() -> str:
    """A fresh Ed25519 private key, hex."""
    return Ed25519PrivateKey.generate().private_bytes(_RAW, _RAWPRIV, _NOENC).hex()


def new_box_key() -> str:
    """A fresh X25519 private key, hex."""
    return X25519PrivateKey.generate().private_bytes(_RAW, _RAWPRIV, _NOENC).hex()


def public_sign(private_hex: str) -> str:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(private_hex))
    return key.public_key().public_bytes(_RAW, _RAWPUB).hex()


def public_box(private_hex: str) -> str:
    key = X25519PrivateKey.from_private_bytes(bytes.fromhex(private_hex))
    return key.public_key().public_bytes(_RAW, _RAWPUB).hex()


def _content_key(shared: bytes, epk: bytes, rpk: bytes, kind: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=epk + rpk,
                info=b"case-workstation bundle v1|" + kind.encode()).derive(shared)


@dataclass(frozen=True)
class BundleHeader:
    kind: str  # "push" (laptop → HQ) or "ack" (HQ → laptop)
    hq: str
    sender: str
    recipient: str
    bundle_id: str
    created_at: str


def seal(payload: Any, *, kind: str, hq_id: str, sender: str, recipient: str, recipient_box_pub: str,
         sender_sign_key: str, bundle_id: str | None = None) -> tuple[bytes, BundleHeader]:
    """Encrypt ``payload`` (JSON-able) to the recipient and sign it. Returns the file bytes."""
    eph = X25519PrivateKey.generate()
    epk = eph.public_key().public_bytes(_RAW, _RAWPUB)
    rpk = bytes.fromhex(recipient_box_pub)
    nonce = os.urandom(12)
    header = {"v": 1, "alg": ALGORITHM, "kind": kind, "hq": hq_id, "from": sender, "to": recipient,
              "id": bundle_id or str(uuid.uuid4()), "created": clock.utcnow_iso(), "epk": epk.hex(),
              "nonce": nonce.hex()}
    hbytes = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    key = _content_key(eph.exchange(X25519PublicKey.from_public_bytes(rpk)), epk, rpk, kind)
    plain = zlib.compress(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode(), 6)
    body = MAGIC + struct.pack(">I", len(hbytes)) + hbytes
    body += AESGCM(key).encrypt(nonce, plain, MAGIC + hbytes)
    sig = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(sender_sign_key)).sign(body)
    return body + sig, BundleHeader(kind, hq_id, sender, recipient, str(header["id"]), str(header["created"]))


def read_header(data: bytes, *, source: str = "bundle") -> tuple[BundleHeader, dict[str, Any]]:
    """Parse the (not yet verified) header, to know whose key verifies the rest."""
    if not data.startswith(MAGIC):
        raise BundleError(f"{source}: not a Case Workstation sync bundle")
    try:
        (hlen,) = struct.unpack(">I", data[len(MAGIC):len(MAGIC) + 4])
        if hlen > MAX_HEADER or len(MAGIC) + 4 + hlen + 16 + SIG_LEN > len(data):
            raise ValueError("truncated")
        raw = json.loads(data[len(MAGIC) + 4:len(MAGIC) + 4 + hlen])
        header = BundleHeader(str(raw["kind"]), str(raw["hq"]), str(raw["from"]), str(raw["to"]),
                              str(raw["id"]), str(raw["created"]))  # (all text by construction)
        if raw.get("v") != 1 or raw.get("alg") != ALGORITHM:
            raise ValueError("unsupported version")
        bytes.fromhex(raw["epk"])
        bytes.fromhex(raw["nonce"])
    except (ValueError, KeyError, TypeError, struct.error) as exc:
        raise BundleError(f"{source}: damaged or truncated bundle header ({exc})") from None
    return header, raw


def open_sealed(data: bytes, *, expect_kind: str, expect_hq: str, expect_recipient: str | None,
                sender_sign_pub: str, recipient_box_key: str, source: str = "bundle") -> tuple[BundleHeader, Any]:
    """Verify the signature, check the addressing, decrypt. Raises BundleError (tampered,
    wrong key) or WrongRecipient; nothing is returned unless every check passed."""
    header, raw = read_header(data, source=source)
    if header.kind != expect_kind:
        raise WrongRecipient(f"{source}: this is a {header.kind!r} bundle, expected a {expect_kind!r} bundle")
    if header.hq != expect_hq:
        raise WrongRecipient(f"{source}: this bundle is for another HQ ({header.hq}), not this one ({expect_hq})")
    if expect_recipient is not None and header.recipient != expect_recipient:
        raise WrongRecipient(f"{source}: this bundle is addressed to device {header.recipient}, "
                             f"not to this one ({expect_recipient})")
    body, sig = data[:-SIG_LEN], data[-SIG_LEN:]
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(sender_sign_pub)).verify(sig, body)
    except (InvalidSignature, ValueError):
        raise BundleError(f"{source}: signature check failed — the bundle was altered or not made by "
                          f"{header.sender}; nothing was applied") from None
    hlen = struct.unpack(">I", data[len(MAGIC):len(MAGIC) + 4])[0]
    hbytes = data[len(MAGIC) + 4:len(MAGIC) + 4 + hlen]
    ct = body[len(MAGIC) + 4 + hlen:]
    epk = bytes.fromhex(raw["epk"])
    priv = X25519PrivateKey.from_private_bytes(bytes.fromhex(recipient_box_key))
    rpk = priv.public_key().public_bytes(_RAW, _RAWPUB)
    try:
        key = _content_key(priv.exchange(X25519PublicKey.from_public_bytes(epk)), epk, rpk, header.kind)
        plain = AESGCM(key).decrypt(bytes.fromhex(raw["nonce"]), ct, MAGIC + hbytes)
    except (InvalidTag, ValueError):
        raise BundleError(f"{source}: cannot decrypt — the bundle was not sealed for this key") from None
    try:
        d = zlib.decompressobj()
        text = d.decompress(plain, MAX_PAYLOAD)
        if d.unconsumed_tail:
            raise BundleError(f"{source}: the bundle content is larger than allowed")
        return header, json.loads(text)
    except (zlib.error, ValueError) as exc:
        raise BundleError(f"{source}: the bundle content is damaged ({exc})") from None
