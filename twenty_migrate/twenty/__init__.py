"""twenty"""
