import pytest

from playground.services.identity import viewer_for_token
from playground.serving.context import build_context
from tests.fakes import FakeImageGenerator, FakeTextGenerator


@pytest.fixture
def fake_text():
    return FakeTextGenerator()


@pytest.fixture
def fake_image():
    return FakeImageGenerator()


@pytest.fixture
def context(settings, database, fake_text, fake_image):
    return build_context(settings, database, text_factory=lambda: fake_text, image_factory=lambda: fake_image)


@pytest.fixture
def viewer(database):
    return viewer_for_token(database, None)
