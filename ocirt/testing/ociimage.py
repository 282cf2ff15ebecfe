"""Write a busybox rootfs as an image the engines can import, without any registry.

`rootfs_tar` is what `podman import` and `docker import` take; `oci_archive` is an OCI
image-layout tarball (one layer, one manifest) for `ctr images import`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile


def rootfs_tar(rootfs: str, dest: str) -> str:
    """A plain tar of rootfs's contents, owners and modes kept."""
    with tarfile.open(dest, "w") as tar:
        for name in sorted(os.listdir(rootfs)):
            tar.add(os.path.join(rootfs, name), arcname=name)
    return dest


def _blob(tar: tarfile.TarFile, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo(f"blobs/sha256/{digest}")
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
    return f"sha256:{digest}", len(data)


def _json_bytes(doc: object) -> bytes:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def oci_archive(rootfs: str, dest: str, ref: str) -> str:
    """An OCI image layout tarball holding rootfs as one layer, named ref (docker.io/x/y:tag)."""
    layer_tar = io.BytesIO()
    with tarfile.open(fileobj=layer_tar, mode="w") as layer:
        for name in sorted(os.listdir(rootfs)):
            layer.add(os.path.join(rootfs, name), arcname=name)
    diff = layer_tar.getvalue()
    # mtime 0 keeps the compressed layer's digest a function of its content
    compressed = gzip.compress(diff, mtime=0)
    with tarfile.open(dest, "w") as tar:
        layer_digest, layer_size = _blob(tar, compressed)
        config = {
            "architecture": "amd64" if os.uname().machine == "x86_64" else os.uname().machine,
            "os": "linux",
            "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
            "rootfs": {"type": "layers",
                       "diff_ids": [f"sha256:{hashlib.sha256(diff).hexdigest()}"]},
        }
        config_digest, config_size = _blob(tar, _json_bytes(config))
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": layer_digest, "size": layer_size}],
        }
        manifest_digest, manifest_size = _blob(tar, _json_bytes(manifest))
        index = {
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest, "size": manifest_size,
                "annotations": {"io.containerd.image.name": ref,
                                "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[-1]},
            }],
        }
        for name, data in (("oci-layout", _json_bytes({"imageLayoutVersion": "1.0.0"})),
                           ("index.json", _json_bytes(index))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return dest
