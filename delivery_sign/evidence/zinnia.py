"""A thin ctypes binding to Zinnia, the online handwriting recogniser (BSD), with
Tegaki's Simplified Chinese model (LGPL-2.1+, the 6,763 GB2312 characters).

Hand-written because neither Debian nor PyPI ships a Python binding for libzinnia; the
C API used is the documented one (zinnia.h): recognizer new/open/classify, character
new/set_width/set_height/add, result value/score/size/destroy.

Install: ``apt-get install libzinnia0 tegaki-zinnia-simplified-chinese``. Without them
`recognizer()` returns None and the service still starts (the doc-type policy then
refuses ``handwriting: recognized`` and /readyz reports ``recognizer: off``).

The model is opened once per process (it is mmapped, ~5 MB) and shared by all threads.
``zinnia_recognizer_classify`` only reads the model but records its error message in a
member of the recogniser object, so it is not strictly re-entrant: calls are serialised
by a lock (a character takes a few ms, far below the request's other costs).
"""
from __future__ import annotations

import ctypes
import os
import threading
from dataclasses import dataclass

INSTALL_HINT = "apt-get install libzinnia0 tegaki-zinnia-simplified-chinese"
DEFAULT_LIBRARY = "libzinnia.so.0"
DEFAULT_MODEL = "/usr/share/tegaki/models/zinnia/handwriting-zh_CN.model"
# Tegaki's models are trained on characters drawn in a 1000 x 1000 box; the strokes of
# one character are scaled into it (keeping the aspect ratio, centred), as Tegaki does.
MODEL_BOX = 1000
MAX_CANDIDATES = 100


@dataclass(frozen=True)
class Candidate:
    char: str
    score: float


class Recognizer:
    """One opened Zinnia model. Use `recognizer()` to get the process-wide instance."""

    def __init__(self, library_path: str, model_path: str):
        lib = ctypes.CDLL(library_path)
        lib.zinnia_recognizer_new.restype = ctypes.c_void_p
        lib.zinnia_recognizer_open.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.zinnia_recognizer_open.restype = ctypes.c_int
        lib.zinnia_recognizer_strerror.argtypes = [ctypes.c_void_p]
        lib.zinnia_recognizer_strerror.restype = ctypes.c_char_p
        lib.zinnia_recognizer_classify.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        lib.zinnia_recognizer_classify.restype = ctypes.c_void_p
        lib.zinnia_recognizer_size.argtypes = [ctypes.c_void_p]
        lib.zinnia_recognizer_size.restype = ctypes.c_size_t
        lib.zinnia_character_new.restype = ctypes.c_void_p
        lib.zinnia_character_destroy.argtypes = [ctypes.c_void_p]
        lib.zinnia_character_set_width.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        lib.zinnia_character_set_height.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        lib.zinnia_character_add.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int]
        lib.zinnia_character_add.restype = ctypes.c_int
        lib.zinnia_result_value.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        lib.zinnia_result_value.restype = ctypes.c_char_p
        lib.zinnia_result_score.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        lib.zinnia_result_score.restype = ctypes.c_float
        lib.zinnia_result_size.argtypes = [ctypes.c_void_p]
        lib.zinnia_result_size.restype = ctypes.c_size_t
        lib.zinnia_result_destroy.argtypes = [ctypes.c_void_p]
        self._lib = lib
        self._handle = lib.zinnia_recognizer_new()
        if not lib.zinnia_recognizer_open(self._handle, os.fsencode(model_path)):
            raise OSError(f"zinnia cannot open {model_path}: "
                          f"{lib.zinnia_recognizer_strerror(self._handle).decode(errors='replace')}")
        self.model_path = model_path
        self.size = lib.zinnia_recognizer_size(self._handle)
        self._lock = threading.Lock()

    def classify(self, strokes, nbest: int = 10) -> list[Candidate]:
        """Best candidates for one character. `strokes`: sequences of (x, y) in any units;
        they are scaled into the model's box here."""
        points = [[(float(x), float(y)) for x, y in s] for s in strokes if len(s)]
        if not points:
            return []
        xs = [x for s in points for x, _ in s]
        ys = [y for s in points for _, y in s]
        x0, y0 = min(xs), min(ys)
        extent = max(max(xs) - x0, max(ys) - y0, 1e-6)
        scale = (MODEL_BOX - 1) / extent
        dx = (MODEL_BOX - 1 - (max(xs) - x0) * scale) / 2
        dy = (MODEL_BOX - 1 - (max(ys) - y0) * scale) / 2
        lib = self._lib
        character = lib.zinnia_character_new()
        try:
            lib.zinnia_character_set_width(character, MODEL_BOX)
            lib.zinnia_character_set_height(character, MODEL_BOX)
            for index, stroke in enumerate(points):
                for x, y in stroke:
                    lib.zinnia_character_add(character, index, int(round((x - x0) * scale + dx)),
                                             int(round((y - y0) * scale + dy)))
            with self._lock:
                result = lib.zinnia_recognizer_classify(self._handle, character,
                                                        max(1, min(nbest, MAX_CANDIDATES)))
            if not result:
                return []
            try:
                return [Candidate(lib.zinnia_result_value(result, i).decode("utf-8"),
                                  float(lib.zinnia_result_score(result, i)))
                        for i in range(lib.zinnia_result_size(result))]
            finally:
                lib.zinnia_result_destroy(result)
        finally:
            lib.zinnia_character_destroy(character)


_lock = threading.Lock()
_opened: dict = {}


def recognizer(library_path: str | None = None, model_path: str | None = None) -> Recognizer | None:
    """The process-wide recogniser for these paths, or None when the library or model is
    missing. Paths default to ZINNIA_LIBRARY / ZINNIA_MODEL from the environment (the
    app's config sets them) and then to Debian's locations."""
    library_path = library_path or os.environ.get("ZINNIA_LIBRARY") or DEFAULT_LIBRARY
    model_path = model_path or os.environ.get("ZINNIA_MODEL") or DEFAULT_MODEL
    key = (library_path, model_path)
    with _lock:
        if key not in _opened:
            try:
                _opened[key] = Recognizer(library_path, model_path)
            except (OSError, AttributeError):
                _opened[key] = None
        return _opened[key]
