import re
from urllib.parse import unquote

import pytest
from lumiere.api.original_download import attachment


@pytest.mark.parametrize(
    ("name", "ascii_name"),
    [("clip.mp4", "clip.mp4"), ("Été 2026.mov", "_t_ 2026.mov"),
     ('say "hi"; now\\.wav', "say _hi__ now_.wav"), ("猫.jpg", "_.jpg")],
)  # fmt: skip
def test_the_download_keeps_the_files_name(name: str, ascii_name: str) -> None:
    header = attachment(name)
    match = re.fullmatch(r"attachment; filename=\"([^\"\\;]*)\"; filename\*=UTF-8''(\S+)", header)
    assert match, header
    assert match.group(1) == ascii_name  # for clients without RFC 6266: safe, and quoted
    assert unquote(match.group(2), encoding="utf-8") == name  # browsers: the name itself
