"""The front ends' formats, part of the contract: Jobnet's and the a-kasser's joblog messages,
read strictly by table (`common`), written back from the canonical change, and the field names
a refusal gives in the producer's terms. The adapters, storage and the API share them."""
