package contract

import (
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

// The adapter index maps a hash to the round that produced it, for AdapterLineage.
// Update hashes must be new: re-submitting known bytes (someone else's update,
// or an earlier aggregate) would claim a contribution that was never made.
// Aggregate and optimizer-state hashes point at their latest proposal.

// indexUpdate records the caller's update hash, refusing a hash already on the ledger.
func (rs *roundState) indexUpdate(sha256 string) error {
	existing, found, err := readAdapter(rs.stub, sha256)
	if err != nil {
		return err
	}
	if found {
		return fail(CodeDuplicate, "adapter %s is already on the ledger as the %s of %s (session %s round %d); submit a fresh update",
			sha256, existing.Kind, existing.Producer, existing.SessionID, existing.Round)
	}
	return writeAdapter(rs.stub, rs.adapterRecord(KindUpdate, sha256))
}

// indexAggregate records the proposal's aggregate and optimizer-state hashes.
// An optimizer state never hides an update or aggregate with the same bytes.
func (rs *roundState) indexAggregate(input ProposalInput) error {
	if err := writeAdapter(rs.stub, rs.adapterRecord(KindAggregate, input.SHA256)); err != nil {
		return err
	}
	if input.OptimizerStateSHA256 == "" || input.OptimizerStateSHA256 == input.SHA256 {
		return nil
	}
	existing, found, err := readAdapter(rs.stub, input.OptimizerStateSHA256)
	if err != nil || (found && existing.Kind != KindOptimizerState) {
		return err
	}
	return writeAdapter(rs.stub, rs.adapterRecord(KindOptimizerState, input.OptimizerStateSHA256))
}

func (rs *roundState) adapterRecord(kind, sha256 string) AdapterRecord {
	return AdapterRecord{Kind: kind, Producer: rs.who.id, Round: rs.round.Round, SessionID: rs.session.SessionID, SHA256: sha256}
}

func readAdapter(stub shim.ChaincodeStubInterface, sha256 string) (AdapterRecord, bool, error) {
	var record AdapterRecord
	key, err := adapterKey(stub, sha256)
	if err != nil {
		return record, false, err
	}
	found, err := readJSON(stub, key, &record)
	return record, found, err
}

func writeAdapter(stub shim.ChaincodeStubInterface, record AdapterRecord) error {
	key, err := adapterKey(stub, record.SHA256)
	if err != nil {
		return err
	}
	return writeJSON(stub, key, record)
}

// lineageOf explains an indexed adapter from the round that produced it.
func lineageOf(record AdapterRecord, round Round) Lineage {
	lineage := Lineage{
		Endorsements: map[string]Endorsement{}, Inputs: []Input{}, Kind: record.Kind, Producer: record.Producer,
		Round: record.Round, SessionID: record.SessionID, SHA256: record.SHA256, Weights: map[string]float64{},
	}
	if record.Kind == KindUpdate {
		return lineage
	}
	proposal, endorsements, found := findProposal(round, record)
	if !found {
		return lineage
	}
	rule := proposal.Rule
	lineage.Endorsements, lineage.Inputs, lineage.Rule, lineage.Weights = endorsements, proposal.Inputs, &rule, proposal.Weights
	lineage.Producer = proposal.Aggregator
	lineage.Final = round.Phase == PhaseFinal && round.Proposal != nil && round.Proposal.SHA256 == proposal.SHA256
	return lineage
}

// findProposal returns the latest proposal of the round that produced the
// adapter, with the verdicts it received.
func findProposal(round Round, record AdapterRecord) (Proposal, map[string]Endorsement, bool) {
	matches := func(p Proposal) bool {
		if record.Kind == KindAggregate {
			return p.SHA256 == record.SHA256
		}
		return p.OptimizerStateSHA256 == record.SHA256
	}
	if round.Proposal != nil && matches(*round.Proposal) {
		return *round.Proposal, round.Endorsements, true
	}
	for i := len(round.RejectedProposals) - 1; i >= 0; i-- {
		if rejected := round.RejectedProposals[i]; matches(rejected.Proposal) {
			return rejected.Proposal, rejected.Endorsements, true
		}
	}
	return Proposal{}, nil, false
}
