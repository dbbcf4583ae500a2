"""Timecodes and ``cues.csv``, the segments in a cue-sheet layout.

``cues.csv`` has one row per segment, in time order (silences are the gaps
between rows)::

    cue,kind,file,start_tc,end_tc,start_s,end_s,duration_s,genre_1,score_1,...,in_distribution

Timecodes are ``HH:MM:SS:FF`` (non-drop-frame) at an integer frame rate,
24 by default, counted from the start of the input; ``kind`` is ``cue``
(music like the training collection's) or ``unlike training``; the genres
are the segment's best by the mean score of its in-distribution tiles (none
for a segment without any).
"""
import csv
import io
import math
import os
import re

from ..errors import InputError
from ..files import write_bytes

__all__ = ["timecode", "parse_timecode", "check_fps", "write_cues"]

_TIMECODE = re.compile(r"^(\d{2,}):([0-5]\d):([0-5]\d):(\d{2,})$")


def check_fps(fps):
    """``fps`` as an int, or an InputError: timecodes here count whole frames per second.

    Examples
    --------
    >>> check_fps(25)
    25
    >>> check_fps(23.976)
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: fps must be a whole number of frames per second from 1 to 1000, got 23.976
    """
    if isinstance(fps, bool) or not float(fps).is_integer() or not 1 <= fps <= 1000:
        raise InputError("fps must be a whole number of frames per second from 1 to 1000, "
                         "got {!r}".format(fps))
    return int(fps)


def timecode(seconds, fps=24):
    """``HH:MM:SS:FF`` of a time in seconds, rounded to the nearest frame.

    Examples
    --------
    >>> timecode(3725.5), timecode(59.99, fps=25)
    ('01:02:05:12', '00:01:00:00')
    """
    fps = check_fps(fps)
    if seconds < 0:
        raise InputError("a timecode needs a time >= 0, got {!r}".format(seconds))
    frames = int(math.floor(seconds * fps + 0.5))  # half a frame up, as editors count
    total, frame = divmod(frames, fps)
    minutes, second = divmod(total, 60)
    hours, minute = divmod(minutes, 60)
    return "{:02d}:{:02d}:{:02d}:{:02d}".format(hours, minute, second, frame)


def parse_timecode(text, fps=24):
    """Seconds of an ``HH:MM:SS:FF`` timecode (the inverse of :func:`timecode`).

    Examples
    --------
    >>> parse_timecode("01:02:05:12")
    3725.5
    >>> parse_timecode("00:00:01:24")
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: timecode '00:00:01:24': frame 24 is not below 24 fps
    """
    fps = check_fps(fps)
    match = _TIMECODE.match(str(text))
    if not match:
        raise InputError("timecode {!r} is not HH:MM:SS:FF".format(text))
    hours, minutes, seconds, frame = (int(g) for g in match.groups())
    if frame >= fps:
        raise InputError("timecode {!r}: frame {} is not below {} fps".format(text, frame, fps))
    return ((hours * 60 + minutes) * 60 + seconds) + frame / float(fps)


def write_cues(path, segments, files, genres, fps=24, top=3):
    """Write ``cues.csv`` (see the module), atomically.

    Parameters
    ----------
    path : str
    segments : list of Segment
    files : list of SourceFile
    genres : sequence of str
    fps : int
    top : int
        Genres per row.

    Returns
    -------
    path : str
    """
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    header = ["cue", "kind", "file", "start_tc", "end_tc", "start_s", "end_s", "duration_s"]
    for rank in range(1, top + 1):
        header += ["genre_{}".format(rank), "score_{}".format(rank)]
    writer.writerow(header + ["in_distribution"])
    for segment in segments:
        row = [segment.number, segment.kind, os.path.basename(files[segment.file].path),
               timecode(segment.start, fps), timecode(segment.end, fps),
               "{:.2f}".format(segment.start), "{:.2f}".format(segment.end),
               "{:.2f}".format(segment.duration)]
        ranked = [] if segment.scores is None else sorted(
            zip(genres, segment.scores), key=lambda pair: -pair[1])
        for rank in range(top):
            row += ([ranked[rank][0], "{:.4f}".format(ranked[rank][1])] if rank < len(ranked)
                    else ["", ""])
        writer.writerow(row + ["{:.3f}".format(segment.in_distribution)])
    write_bytes(path, text.getvalue().encode())
    return path
