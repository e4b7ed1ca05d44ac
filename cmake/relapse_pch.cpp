// cmake/relapse_pch.cpp — anchors the precompiled-header target.
