"""Delete my data: everything of one identity goes, now (feedback_db/erasure.py), with its image
files and any generation of its still running.

A generation of the identity's that is under way is stopped first (its Stop signal), so it ends
at the next token; its request is gone by the time it would be closed, and the stream ends with
RequestErasedError instead of storing anything (playground/services/generation.py).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from feedback_db.erasure import Erased, erase_identity
from models.base import MODALITIES
from playground.services.identity import Viewer
from playground.serving.context import AppContext

logger = logging.getLogger(__name__)


def delete_my_data(context: AppContext, viewer: Viewer) -> Erased:
    """1. Stop the identity's running generation; 2. delete its rows in one transaction;
    3. delete the image files no one else's output refers to; 4. unload and delete its personal
    versions' adapters."""
    if context.stops.running(viewer.browser_session):  # (a Stop left set would stop nothing else: Generate clears it)
        context.stops.event(viewer.browser_session).set()
    with context.database.sessions.begin() as session:
        erased = erase_identity(session, user_id=viewer.user_id)
    images_dir = context.settings.images_dir.resolve()
    for stored in erased.orphaned_images:
        path = context.settings.stored_file(stored)
        if not path.is_relative_to(images_dir):  # only the app's own image files are deleted
            continue
        try:
            path.unlink(missing_ok=True)
        except OSError as error:  # the rows are gone; a file left behind is logged, not fatal
            logger.warning("could not delete image file %s: %s", path, error)
    forget_personal_adapters(context, erased.adapter_folders)
    logger.info("deleted the data of user %s: %s requests, %s personal versions", viewer.user_id, erased.requests, erased.personal_versions)
    return erased


def forget_personal_adapters(context: AppContext, folders: list[Path]) -> None:
    """Unload each adapter from the generators that hold it and delete its folder and its retrain
    report (named like the folder: it quotes the identity's held-out prompts). Only folders under
    the adapters dir are deleted: the rows name them, but nothing else is ever deleted."""
    adapters_dir = context.settings.adapters_dir.resolve()
    for folder in folders:
        for modality in MODALITIES:
            context.versions(modality).forget(folder.name)
        if folder.resolve().is_relative_to(adapters_dir):
            shutil.rmtree(folder, ignore_errors=True)
            for suffix in (".md", ".json"):
                (context.settings.reports_dir / f"{folder.name}{suffix}").unlink(missing_ok=True)
