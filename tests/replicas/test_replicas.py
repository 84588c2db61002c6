"""Several app replicas on one PostgreSQL database and one data dir (docs/OPERATIONS.md, "Scaling").

Two real `playground serve` processes, started at the same moment on a blank database (both
migrate), answer clients on their own ports, as they would behind nginx with sticky sessions:
 (a) ratings sent to either replica land in the one database, with their values;
 (b) twenty annotators pulling the annotation queue at once, half on each replica, never get one
     slot twice, and every request ends with exactly k annotators;
 (c) a version promoted the way `playground retrain` promotes it is served by both replicas on
     their next request;
 (d) once its models are warm, each replica takes them out of the garbage collector's walks.
Generation runs on the real embedded image model with 2 denoising steps (cheap on a CPU); the
annotation queue is filled through feedback_db, as `playground generate` fills it.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import cycle

import pytest
from gradio_client import Client
from sqlalchemy import func, select

from feedback_db.frames import ratings_frame
from feedback_db.schema import Assignment, Output, Rating, Request
from feedback_db.users import create_user
from feedback_db.versions import create_version, promote_version
from tests.db.helpers import add_text_request
from tests.replicas.conftest import ANNOTATION_OVERLAP

pytestmark = pytest.mark.real_model

RATERS_PER_REPLICA = 2
ANNOTATORS = 20  # half on each replica
QUEUE_REQUESTS = 12
MAX_ITEMS = 50  # more than the queue ever holds here: a loop that never ends fails instead
PASSWORD = "correct horse battery"
# prompt, negative prompt, images, steps, guidance, size, seed
IMAGE_ARGS = ("a red circle on a blue background", "", 2, 2, 2.0, 256, 7)
SHOWN_REQUEST = re.compile(r"Request (\d+) ·")


def client(url: str) -> Client:
    return Client(url, verbose=False)


def request_of(database, request_id: int) -> Request:
    with database.read_sessions() as session:
        return session.get(Request, request_id)


def latest_request_ids(database, count: int) -> list[int]:
    with database.read_sessions() as session:
        return list(session.scalars(select(Request.id).order_by(Request.id.desc()).limit(count)))[::-1]


def test_ratings_sent_to_either_replica_land_in_the_one_database(replicas, shared_database):
    # 1. Each rater generates on its own replica (sticky) and rates both images with its own values.
    sent = {}  # (rater, image index) -> (naturalness, reliability, thumbs)
    for number, (replica, _) in enumerate(zip(cycle(replicas), range(RATERS_PER_REPLICA * len(replicas)))):
        rater = client(replica.url)
        rater.predict(*IMAGE_ARGS, api_name="/generate_image")
        for index in range(2):
            scores = (1 + (number + index) % 5, 1 + (number * 2 + index) % 5, 1 if index == 0 else -1)
            answer = rater.predict(index, *scores, f"rater {number} on {replica.name}", api_name="/rate_image")
            assert answer.startswith("Saved naturalness"), answer
            sent[(number, index)] = scores
        rater.predict(1 + number % 5, 0, api_name="/rate_image_set")
    # 2. All of them are in the one database, with the values each replica was sent (other tests
    #    of this package may have rated through the same replicas: their comments differ).
    with shared_database.read_sessions() as session:
        ratings = ratings_frame(session)
    ratings = ratings[ratings["comment"].fillna("").str.match(r"rater \d+ on ")]
    assert len(ratings) == len(sent) == 2 * RATERS_PER_REPLICA * len(replicas)
    received = {}
    for row in ratings.itertuples():
        number = int(re.match(r"rater (\d+)", row.comment).group(1))
        received[(number, int(row.output_index))] = (int(row.naturalness), int(row.reliability), int(row.thumbs))
        assert row.comment.endswith(replicas[number % len(replicas)].name)
    assert received == sent
    assert set(ratings["model_version"]) <= {"base", "image-v1"}  # (c) may have promoted already


def _annotate_until_empty(url: str, name: str) -> list[int]:
    """Log in on `url`, rate every item the queue hands out until it is empty; return the ids."""
    annotator = client(url)
    shown = annotator.predict(name, PASSWORD, api_name="/annotate_login")
    rated = []
    for _ in range(MAX_ITEMS):
        status = " ".join(part for part in shown if isinstance(part, str))
        match = SHOWN_REQUEST.search(status)
        if match is None:
            assert "queue is empty" in status, status
            return rated
        shown = annotator.predict(4, 3, None, None, 5, 2, None, None, 3, 1, api_name="/annotate_submit")
        saved = " ".join(part for part in shown if isinstance(part, str))
        assert "✓ Saved." in saved and "⚠" not in saved, saved
        rated.append(int(match.group(1)))
    raise AssertionError(f"{name} was handed more items than the queue holds: {rated}")


def test_the_annotation_queue_never_hands_a_slot_to_two_annotators_across_replicas(replicas, shared_database):
    # 1. The queue: requests with two candidates each, and the annotator accounts. Requests made
    #    in the playground (the other tests' images) are in the queue too.
    with shared_database.sessions.begin() as session:
        for i in range(QUEUE_REQUESTS):
            add_text_request(session, n=2, prompt=f"queue item {i}")
        names = [f"annotator{i:02d}" for i in range(ANNOTATORS)]
        for name in names:
            create_user(session, name=name, role="annotator", password=PASSWORD)
    with shared_database.read_sessions() as session:
        queued = list(session.scalars(select(Request.id).where(Request.status == "finished")))  # what the queue hands out
    # 2. Everyone pulls at once, half of them through each replica.
    urls = [replicas[i % len(replicas)].url for i in range(ANNOTATORS)]
    with ThreadPoolExecutor(max_workers=ANNOTATORS) as pool:
        handed = list(pool.map(_annotate_until_empty, urls, names))
    # 3. What the annotators saw: every request rated by exactly k of them, none twice by one.
    per_request = {request_id: 0 for request_id in queued}
    for rated in handed:
        assert len(rated) == len(set(rated))
        for request_id in rated:
            per_request[request_id] += 1
    assert per_request == {request_id: ANNOTATION_OVERLAP for request_id in queued}
    assert sum(1 for rated in handed[0::2] if rated) and sum(1 for rated in handed[1::2] if rated)
    # 4. What the database holds: k submitted slots 0..k-1 per request, k annotators' ratings each.
    with shared_database.read_sessions() as session:
        slots = session.execute(
            select(Assignment.request_id, Assignment.slot, Assignment.annotator_id, Assignment.status).where(
                Assignment.request_id.in_(queued)
            )
        ).all()
        raters = dict(
            session.execute(
                select(Output.request_id, func.count(func.distinct(Rating.rater_id)))
                .join(Output, Rating.output_id == Output.id)
                .where(Output.request_id.in_(queued), Rating.source == "annotator")
                .group_by(Output.request_id)
            ).all()
        )
    submitted = [(r, s) for r, s, _, status in slots if status == "submitted"]
    assert len(submitted) == len(set(submitted)) == ANNOTATION_OVERLAP * len(queued)
    for request_id in queued:
        assert sorted(s for r, s in submitted if r == request_id) == list(range(ANNOTATION_OVERLAP))
    assert raters == {request_id: ANNOTATION_OVERLAP for request_id in queued}


def test_a_promoted_version_is_served_by_every_replica_on_its_next_request(replicas, shared_database, shared_dir):
    from models.embedded_image.lora import add_adapter, save_adapter
    from models.embedded_image.pipeline import build_unet

    # 1. Each replica serves the base model; a real (random) LoRA adapter for the shipped
    #    denoiser goes into the shared data dir.
    for replica in replicas:
        client(replica.url).predict(*IMAGE_ARGS, api_name="/generate_image")
        assert request_of(shared_database, latest_request_ids(shared_database, 1)[0]).model_version == "base"
    unet = build_unet()
    add_adapter(unet, rank=4)
    adapter = save_adapter(unet, shared_dir / "adapters" / "image-v1")
    # 2. Promote it as `playground retrain` does (stage 7: register, then promote, one transaction).
    with shared_database.sessions.begin() as session:
        version = create_version(session, name="image-v1", modality="image", base_model="embedded", adapter_path=str(adapter.resolve()))
        promote_version(session, version_id=version.id)
    # 3. The next request each replica serves runs on it, with no restart.
    for replica in replicas:
        client(replica.url).predict(*IMAGE_ARGS, api_name="/generate_image")
        (request_id,) = latest_request_ids(shared_database, 1)
        assert request_of(shared_database, request_id).model_version == "image-v1", replica.name


def test_each_replica_freezes_its_loaded_heap_once_warm(replicas):
    # A full collection walking the loaded models held every request for ~0.5 s (warmup.py).
    deadline = time.monotonic() + 180
    pending = list(replicas)
    while pending and time.monotonic() < deadline:
        pending = [r for r in pending if not re.search(r"\d{5,} objects frozen out of garbage collection", r.log_text())]
        time.sleep(0.5)
    assert not pending, f"no heap freeze logged by {[r.name for r in pending]}:\n{pending[0].log_text()[-3000:]}"
