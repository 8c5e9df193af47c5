"""Rendering only: terminal, JSON, HTML, JUnit and trace export. No simulation here."""
