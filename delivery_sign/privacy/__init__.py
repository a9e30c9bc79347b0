"""Personal information as PIPL asks (issue 19): the notice and consents at the door,
retention and its purge, requests by phone number, and the record of who looked."""
