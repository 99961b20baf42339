package contract

import "github.com/hyperledger/fabric-chaincode-go/v2/shim"

// parseUpdate validates the arguments of SubmitUpdate, with the optional
// epsilonSpent after the five declared ones; it reports whether that was given.
func parseUpdate(stub shim.ChaincodeStubInterface, sha256, numExamples, metricsJSON string) (Update, bool, error) {
	if err := checkSHA256("sha256", sha256); err != nil {
		return Update{}, false, err
	}
	examples, err := parsePositive("numExamples", numExamples, maxExamplesLimit)
	if err != nil {
		return Update{}, false, err
	}
	metrics, err := parseMetrics(metricsJSON)
	if err != nil {
		return Update{}, false, err
	}
	raw, err := optionalArg(stub, 5, submitUpdateUsage)
	if err != nil {
		return Update{}, false, err
	}
	spent, given, err := parseEpsilonSpent(raw)
	if err != nil {
		return Update{}, false, err
	}
	return Update{EpsilonSpent: spent, Metrics: metrics, NumExamples: examples, SHA256: sha256}, given, nil
}

// parseProposal decodes and validates the JSON argument of ProposeAggregate.
// An empty optimizerStateSha256 means the rule keeps no server-side state.
func parseProposal(raw string) (ProposalInput, error) {
	var input ProposalInput
	if err := decodeStrict("proposal", raw, maxProposalBytes, &input); err != nil {
		return input, err
	}
	if err := checkSHA256("proposal sha256", input.SHA256); err != nil {
		return input, err
	}
	if input.OptimizerStateSHA256 != "" {
		if err := checkSHA256("optimizerStateSha256", input.OptimizerStateSHA256); err != nil {
			return input, err
		}
	}
	for _, in := range input.Inputs {
		if err := checkSHA256("input sha256 of "+in.NodeID, in.SHA256); err != nil {
			return input, err
		}
	}
	if input.Rule.Params == nil {
		input.Rule.Params = map[string]float64{}
	}
	if err := checkNumbers("rule.params", input.Rule.Params); err != nil {
		return input, err
	}
	if input.Weights == nil {
		input.Weights = map[string]float64{}
	}
	return input, nil
}

// parseVerdict validates the arguments of EndorseAggregate; a rejection needs a reason.
func parseVerdict(sha256, accept, reason string) (Endorsement, error) {
	if err := checkSHA256("sha256", sha256); err != nil {
		return Endorsement{}, err
	}
	accepted, err := parseBool("accept", accept)
	if err != nil {
		return Endorsement{}, err
	}
	if len(reason) > maxTextLength {
		return Endorsement{}, fail(CodeBadArgument, "reason is %d characters; keep it under %d", len(reason), maxTextLength)
	}
	if !accepted && reason == "" {
		return Endorsement{}, fail(CodeBadArgument, "a rejection needs a reason; say why the aggregate is wrong")
	}
	return Endorsement{Accept: accepted, Reason: reason, SHA256: sha256}, nil
}
