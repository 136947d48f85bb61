"""Exit codes of `edge-emotion` (README, "Exit codes") and which failures map to them.

systemd's unit restarts on every failure but 2 (RestartPreventExitStatus=2): a configuration
error stays wrong until someone edits the file, while a camera, a microphone or a broker may
come back by itself.
"""

from __future__ import annotations

EXIT_OK = 0  # stopped by a signal, or every file source ended
EXIT_ERROR = 1  # unexpected failure inside the loop (logged with a traceback)
EXIT_CONFIG = 2  # bad command line or configuration: a key, a file it names, a model that does not match its sidecar
EXIT_UNAVAILABLE = 3  # a camera, microphone, package or output could not be opened
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT) outside `run`'s loop: the shell's 128 + 2


def exit_code(error: BaseException) -> int:
    """The exit status for a start-up failure: 2 for what the config says, 3 for what the machine lacks."""
    from .backends.base import BackendUnavailable
    from .detect.base import DetectorUnavailable

    if isinstance(error, (BackendUnavailable, DetectorUnavailable, OSError)):
        return EXIT_UNAVAILABLE
    if isinstance(error, ValueError):  # ConfigError, DescriptionError, WavError, a model that fails its own checks
        return EXIT_CONFIG
    if isinstance(error, RuntimeError):  # a registry's missing package
        return EXIT_UNAVAILABLE
    return EXIT_ERROR
