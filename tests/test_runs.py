"""Run folders read back whatever a crash or a stray write left in them."""
from zoo.run.folder import Run


def test_corrupt_files_read_as_missing_or_skipped(tmp_path):
    run = Run(tmp_path / "r")
    run.create()
    for content in (b"\xff\xfe not utf-8", b"[1, 2]", b'{"status": "fin'):
        run.file("summary.json").write_bytes(content)
        assert run.summary() is None
    run.file("metrics.jsonl").write_bytes(b'{"step": 1}\n\xff\xfe\n[3]\n{"step": 2}\n{"st')
    assert run.records() == [{"step": 1}, {"step": 2}]
    run.update_summary(status="running")  # a corrupt summary is replaced, not a crash
    assert run.summary() == {"status": "running"}
