"""Download IDX files from mirrors, verifying each against its published MD5.

Each file is streamed into a temporary file beside its target and renamed into
place only after its checksum matches, so the target folder never contains a partial
or unverified file. On any failure the next mirror is tried.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from mlpbench import __version__
from mlpbench.atomic import atomic_writer
from mlpbench.data.sources import IdxFile, file_url
from mlpbench.errors import DataError

logger = logging.getLogger(__name__)

# Seconds a connection attempt or a single read may block before the mirror counts as failed.
TIMEOUT_S = 30.0
CHUNK_BYTES = 1 << 20
USER_AGENT = f"mlpbench/{__version__}"


class ChecksumMismatchError(Exception):
    """A downloaded file's MD5 differs from the published one."""


class IncompleteDownloadError(Exception):
    """The connection closed before the server sent the bytes it announced."""


def make_progress(enabled: bool) -> Progress:
    """Return a rich download progress display on stderr, or a disabled one."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=False,
    )


def _stream_to(url: str, target: Path, md5: str, progress: Progress, task: TaskID) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    digest = hashlib.md5(usedforsecurity=False)
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        length = response.headers.get("Content-Length")
        expected = int(length) if length is not None and length.isdigit() else None
        progress.update(task, total=expected)
        received = 0
        with atomic_writer(target) as handle:
            while chunk := response.read(CHUNK_BYTES):
                digest.update(chunk)
                handle.write(chunk)
                received += len(chunk)
                progress.advance(task, len(chunk))
            # Raising inside the writer removes the temporary file.
            if expected is not None and received < expected:
                message = f"the connection closed after {received:,} of {expected:,} bytes"
                raise IncompleteDownloadError(message)
            if digest.hexdigest() != md5:
                raise ChecksumMismatchError(f"MD5 is {digest.hexdigest()}, expected {md5}")


def download_file(idx_file: IdxFile, folder: Path, mirrors: Sequence[str], progress: Progress) -> Path:
    """Download ``idx_file``'s ``.gz`` into ``folder``, trying each mirror in turn.

    Parameters
    ----------
    idx_file
        File name and published MD5 of the compressed file.
    folder
        Existing destination folder; the file is saved as ``folder / idx_file.gz_name``.
    mirrors
        Base URLs; the file name is appended to each.
    progress
        Display to report bytes on (see ``make_progress``).

    Returns
    -------
    pathlib.Path
        The verified file.

    Raises
    ------
    DataError
        If every mirror failed. The message lists each URL tried and its error.
    """
    if not mirrors:
        raise DataError(f"cannot download {idx_file.gz_name}: no mirrors configured")
    target = folder / idx_file.gz_name
    failures = []
    for mirror in mirrors:
        url = file_url(mirror, idx_file.gz_name)
        task = progress.add_task(f"{idx_file.gz_name} from {mirror}", total=None)
        try:
            _stream_to(url, target, idx_file.md5, progress, task)
        except ChecksumMismatchError as error:
            reason = f"checksum mismatch: {error}"
        except IncompleteDownloadError as error:
            reason = str(error)
        except urllib.error.HTTPError as error:
            reason = f"HTTP {error.code} {error.reason}"
        except TimeoutError:
            reason = f"no data for {TIMEOUT_S:g} s, so the download was abandoned"
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                reason = f"cannot connect within {TIMEOUT_S:g} s"
            else:
                reason = f"cannot connect: {error.reason}"
        except (OSError, http.client.HTTPException, ValueError) as error:
            reason = f"{type(error).__name__}: {error}"
        else:
            progress.update(task, description=f"{idx_file.gz_name} [green]verified")
            logger.info("downloaded %s from %s (MD5 verified)", target, url)
            if failures:
                # Reported once here, or once in the error below when every mirror fails.
                logger.warning("%d mirror(s) failed before %s:\n%s", len(failures), url, "\n".join(failures))
            return target
        progress.update(task, visible=False)
        logger.debug("download of %s failed: %s", url, reason)
        failures.append(f"  {url}: {reason}")
    raise DataError(f"cannot download {idx_file.gz_name}; every mirror failed:\n" + "\n".join(failures))
