"""Multipart bodies (RFC 2046) as the providers' stand-ins read them: googledrive_api.py's
multipart/related uploads and box_api.py's multipart/form-data ones."""

import re


def parts(content_type, body):
    """The parts of a multipart `body`: (their headers, their bytes) in order; None when
    `content_type` names no boundary."""
    m = re.search(r'boundary="?([^";]+)"?', content_type or "")
    if not m:
        return None
    found = []
    for chunk in body.split(b"--" + m.group(1).encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, content = chunk.partition(b"\r\n\r\n")
        found.append((head, content[:-2] if content.endswith(b"\r\n") else content))
    return found
