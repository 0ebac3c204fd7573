#!/usr/bin/python3
"""make_privacy_canary.py - writes tests/data/dicom/privacy_canary.dcm: pydicom's
MR_small.dcm (MIT licence, see tests/data/dicom/ATTRIBUTION.md) with every
patient-identifying attribute the privacy test looks for set to a unique
marker string, so that tests/cli_privacy.sh can search every output of a
run for the markers. The pixels are MR_small's.

Usage: /usr/bin/python3 tools/make_privacy_canary.py
"""
import pydicom

SRC = "/usr/lib/python3/dist-packages/pydicom/data/test_files/MR_small.dcm"
OUT = "tests/data/dicom/privacy_canary.dcm"
MARKERS = {
    "PatientName": "CANARYNAME^PRIVATE",
    "PatientID": "CANARYID0042",
    "PatientBirthDate": "19010203",
    "AccessionNumber": "CANARYACC77",
    "InstitutionName": "CANARY INSTITUTE",
    "InstitutionAddress": "CANARY STREET 9",
    "ReferringPhysicianName": "CANARYDOC^REF",
    "PatientAddress": "CANARY LANE 1",
    "OtherPatientIDs": "CANARYOTHER5",
    "StudyID": "CANARYSTUDY3",
}

ds = pydicom.dcmread(SRC)
for k, v in MARKERS.items():
    setattr(ds, k, v)
ds.save_as(OUT, write_like_original=True)
print("wrote", OUT)
for k, v in MARKERS.items():
    print(k, v)
