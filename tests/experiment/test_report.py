"""The report of a trained run: six figures and the viewer with its audio clips."""
import os

from soundtrack_cnn.experiment.report import report_run


def test_report_of_a_trained_run(two_tag_run):
    page = report_run(two_tag_run)
    folder = os.path.dirname(page)
    pngs = sorted(f for f in os.listdir(folder) if f.endswith(".png"))
    assert len(pngs) == 6 and all(os.path.getsize(os.path.join(folder, f)) > 5000 for f in pngs)
    assert open(page).read().count("data:audio/wav;base64,") == 6
