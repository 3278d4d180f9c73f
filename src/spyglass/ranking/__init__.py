"""Second-stage rankers: a LightGBM LambdaMART model over retrieval features, late interaction (MaxSim) and a
cross-encoder slot for a user-supplied ONNX file. All take the same candidates and return a re-ordered run."""
