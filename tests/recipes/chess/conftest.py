"""Shared fixtures of the chess recipe tests: the first 100 Liu Dahua games, read once."""

import itertools

import pytest

from kexue.recipes.chess.pgn import read_games
from tests.conftest import shared_data_path


@pytest.fixture(scope="session")
def liu_dahua_games():
    path = shared_data_path("xiangqi", "liu_dahua_1125_uci.pgn")
    return list(itertools.islice(read_games(path), 100))
