import pytest

from playground.context import AppContext
from playground.identity import viewer_for_token
from tests.fakes import FakeImageGenerator, FakeTextGenerator


@pytest.fixture
def fake_text():
    return FakeTextGenerator()


@pytest.fixture
def fake_image():
    return FakeImageGenerator()


@pytest.fixture
def context(settings, database, fake_text, fake_image):
    return AppContext(settings=settings, database=database, text_factory=lambda: fake_text, image_factory=lambda: fake_image)


@pytest.fixture
def viewer(database):
    return viewer_for_token(database, None)
