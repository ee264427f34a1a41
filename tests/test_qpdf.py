"""Our own PDF writer (render/pdfwrite.py) is checked by an independent reader: qpdf."""
from conftest import qpdf_problems


def test_every_pdf_of_the_sample_passes_qpdf_check(sample_build):
    """The session's sample build (book, press file, handouts); every other test's PDFs are
    checked after it runs (conftest.every_pdf_passes_qpdf_check)."""
    out, report = sample_build
    assert len(list(out.rglob("*.pdf"))) >= 3
    assert qpdf_problems(out) == []
