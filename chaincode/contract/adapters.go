package contract

import (
	"strings"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

// The adapter index maps a hash to the round that produced it, for
// AdapterLineage. It is kept per session (key adapter/sha256/sessionId), so
// nothing done in one session can block, overwrite or claim a record of
// another: an update front-run into another session, or an aggregator of an
// unrelated session proposing a known hash, only writes that session's own
// record. Within a session:
//   - an update hash must be new to the session: re-submitting known bytes
//     (another node's update, an earlier aggregate) would claim a
//     contribution that was never made;
//   - an aggregate takes over the record of its own round (an update with the
//     same bytes, as with a single input, or the same aggregate proposed again
//     after a failover) and is refused (DUPLICATE) when its hash is the record
//     of an earlier round, whose round is final and whose record is never
//     overwritten;
//   - an optimizer state only ever writes a free entry or one of its own
//     round: its bytes may repeat an earlier round's state, which keeps its
//     first record.

// indexUpdate records the caller's update hash, refusing a hash this session already knows.
func (rs *roundState) indexUpdate(sha256 string) error {
	existing, found, err := readAdapter(rs.stub, sha256, rs.session.SessionID)
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
func (rs *roundState) indexAggregate(input ProposalInput) error {
	existing, found, err := readAdapter(rs.stub, input.SHA256, rs.session.SessionID)
	if err != nil {
		return err
	}
	if found && existing.Round != rs.round.number() {
		return fail(CodeDuplicate, "adapter %s is already the %s of %s in round %d of session %s; a record of an earlier round is never overwritten, so propose a fresh aggregate",
			input.SHA256, existing.Kind, existing.Producer, existing.Round, existing.SessionID)
	}
	if err := writeAdapter(rs.stub, rs.adapterRecord(KindAggregate, input.SHA256)); err != nil {
		return err
	}
	return rs.indexOptimizerState(input)
}

// indexOptimizerState records the state hash unless its entry holds an update,
// an aggregate or another round's state.
func (rs *roundState) indexOptimizerState(input ProposalInput) error {
	state := input.OptimizerStateSHA256
	if state == "" || state == input.SHA256 {
		return nil
	}
	existing, found, err := readAdapter(rs.stub, state, rs.session.SessionID)
	if err != nil || (found && (existing.Kind != KindOptimizerState || existing.Round != rs.round.number())) {
		return err
	}
	return writeAdapter(rs.stub, rs.adapterRecord(KindOptimizerState, state))
}

func (rs *roundState) adapterRecord(kind, sha256 string) AdapterRecord {
	return AdapterRecord{Kind: kind, Producer: rs.who.id, Round: rs.round.number(), SessionID: rs.session.SessionID, SHA256: sha256}
}

func readAdapter(stub shim.ChaincodeStubInterface, sha256, sessionID string) (AdapterRecord, bool, error) {
	var record AdapterRecord
	key, err := adapterKey(stub, sha256, sessionID)
	if err != nil {
		return record, false, err
	}
	found, err := readJSON(stub, key, &record)
	return record, found, err
}

// readAdapterRecords returns the records of one hash in every session, sorted by session id.
func readAdapterRecords(stub shim.ChaincodeStubInterface, sha256 string) ([]AdapterRecord, error) {
	return readAll[AdapterRecord](stub, adapterKeyType, sha256)
}

func writeAdapter(stub shim.ChaincodeStubInterface, record AdapterRecord) error {
	key, err := adapterKey(stub, record.SHA256, record.SessionID)
	if err != nil {
		return err
	}
	return writeJSON(stub, key, record)
}

// explainAdapter builds the lineage of one record from the round that produced it.
func explainAdapter(stub shim.ChaincodeStubInterface, record AdapterRecord) (Lineage, error) {
	session, err := requireSession(stub, record.SessionID)
	if err != nil {
		return Lineage{}, err
	}
	round, _, err := readRoundView(stub, session, record.Round)
	if err != nil {
		return Lineage{}, err
	}
	return lineageOf(record, round.Round), nil
}

// chooseLineage picks the answer among one hash's records in several sessions:
// the only one, or else the only final one. An attacker can record known bytes
// in a session of its own, but cannot make that record final alone, so a
// final record is the one an auditor means; two final records are refused
// rather than answered with either.
func chooseLineage(sha256 string, lineages []Lineage) (Lineage, error) {
	if len(lineages) == 1 {
		return lineages[0], nil
	}
	if len(lineages) == 0 {
		return Lineage{}, fail(CodeNotFound, "adapter %s is not on the ledger (in the session asked for)", sha256)
	}
	var final []Lineage
	sessions := make([]string, 0, len(lineages))
	for _, lineage := range lineages {
		sessions = append(sessions, lineage.SessionID)
		if lineage.Final {
			final = append(final, lineage)
		}
	}
	if len(final) == 1 {
		return final[0], nil
	}
	return Lineage{}, fail(CodeBadArgument, "adapter %s is recorded in sessions %s; pass the session id as the second argument",
		sha256, strings.Join(sessions, ", "))
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
