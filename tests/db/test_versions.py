import pytest
from sqlalchemy.exc import IntegrityError

from feedback_db.errors import UnknownIdError
from feedback_db.schema import ModelVersion
from feedback_db.versions import active_version, create_version, list_versions, promote_version


def test_promotion_retires_the_previous_active_version(database):
    with database.sessions.begin() as session:
        assert active_version(session, modality="text") is None
        v1 = create_version(session, name="text-v1", modality="text", base_model="embedded", adapter_path="a1")
        promote_version(session, version_id=v1.id)
        v2 = create_version(session, name="text-v2", modality="text", base_model="embedded", adapter_path="a2")
        assert active_version(session, modality="text").name == "text-v1"
        promote_version(session, version_id=v2.id)
    with database.sessions() as session:
        assert active_version(session, modality="text").name == "text-v2"
        assert [v.status for v in list_versions(session, modality="text")] == ["retired", "active"]
        assert active_version(session, modality="image") is None


def test_the_database_refuses_two_active_versions_of_a_modality(database):
    with pytest.raises(IntegrityError), database.sessions.begin() as session:
        for k in range(2):
            session.add(ModelVersion(name=f"v{k}", modality="text", base_model="m", status="active"))


def test_promoting_an_unknown_version_is_a_clear_error(database):
    with pytest.raises(UnknownIdError, match="model version 99"), database.sessions.begin() as session:
        promote_version(session, version_id=99)
