package contract

import (
	"strings"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// CreateSession records a new session from its JSON spec. Only an org admin may
// create one; the admin becomes its creator. With an explicit participant list
// the participants are fixed now, otherwise nodes enrol with JoinSession.
// Returns the Session; emits SessionCreated.
func (c *Contract) CreateSession(ctx contractapi.TransactionContextInterface, specJSON string) (out string, err error) {
	defer recoverPanic("CreateSession", &out, &err)
	who, err := callerOf(ctx)
	if err != nil {
		return "", err
	}
	if err := requireAdmin(who, "create a session"); err != nil {
		return "", err
	}
	spec, err := parseSpec(specJSON)
	if err != nil {
		return "", err
	}
	stub := ctx.GetStub()
	if _, found, err := readSession(stub, spec.SessionID); err != nil || found {
		if err == nil {
			err = fail(CodeAlreadyExists, "session %s already exists; choose another session id", spec.SessionID)
		}
		return "", err
	}
	now, err := txTime(stub)
	if err != nil {
		return "", err
	}
	session := newSession(spec, who, now)
	if err := saveSession(stub, session); err != nil {
		return "", err
	}
	if err := emit(stub, Event{Event: "SessionCreated", SessionID: session.SessionID, NodeID: who.id}); err != nil {
		return "", err
	}
	return toJSON(session)
}

// JoinSession enrols the caller, an active registered node, in an open session
// without an explicit participant list. Returns the Session; emits SessionJoined.
func (c *Contract) JoinSession(ctx contractapi.TransactionContextInterface, sessionID string) (out string, err error) {
	defer recoverPanic("JoinSession", &out, &err)
	who, err := callerOf(ctx)
	if err != nil {
		return "", err
	}
	stub := ctx.GetStub()
	if _, err := requireActiveNode(stub, who.id); err != nil {
		return "", err
	}
	session, err := requireSession(stub, sessionID)
	if err != nil {
		return "", err
	}
	if session.Status != SessionOpen {
		return "", fail(CodeWrongPhase, "session %s is %s; nodes can join only while it is open", sessionID, session.Status)
	}
	if err := checkJoinable(session, who); err != nil {
		return "", err
	}
	session.Participants = insertSorted(session.Participants, who.id)
	if err := saveSession(stub, session); err != nil {
		return "", err
	}
	if err := emit(stub, Event{Event: "SessionJoined", SessionID: sessionID, NodeID: who.id}); err != nil {
		return "", err
	}
	return toJSON(session)
}

// StartSession fixes the participants and opens round 1 in "collecting".
// Only the session's creator may start it; every participant must be an
// active registered node, the participants must come from at least two orgs,
// and the quorum must not exceed their number. A join-mode session's quorum is
// raised to a majority of those who joined. Returns the Session; emits
// SessionStarted.
func (c *Contract) StartSession(ctx contractapi.TransactionContextInterface, sessionID string) (out string, err error) {
	defer recoverPanic("StartSession", &out, &err)
	who, err := callerOf(ctx)
	if err != nil {
		return "", err
	}
	stub := ctx.GetStub()
	session, err := requireSession(stub, sessionID)
	if err != nil {
		return "", err
	}
	if who.id != session.Creator {
		return "", fail(CodeNotAdmin, "%s may not start session %s; only its creator %s may", who.id, sessionID, session.Creator)
	}
	if session.Status != SessionOpen {
		return "", fail(CodeWrongPhase, "session %s is %s; only an open session can start", sessionID, session.Status)
	}
	if err := prepareStart(stub, &session); err != nil {
		return "", err
	}
	now, err := txTime(stub)
	if err != nil {
		return "", err
	}
	session.Status, session.StartedAt, session.CurrentRound = SessionRunning, formatTime(now), 1
	round, err := openRound(stub, session, 1, now)
	if err != nil {
		return "", err
	}
	if err := saveSession(stub, session); err != nil {
		return "", err
	}
	if err := emit(stub, roundEvent("SessionStarted", who.id, round, "")); err != nil {
		return "", err
	}
	return toJSON(session)
}

func newSession(spec SessionSpec, who caller, now time.Time) Session {
	enrolment := EnrolmentJoin
	if len(spec.Participants) > 0 {
		enrolment = EnrolmentList
	}
	return Session{
		AllowedOrgs: spec.AllowedOrgs, BaseModel: spec.BaseModel, BaseModelSHA256: spec.BaseModelSHA256, CreatedAt: formatTime(now),
		Creator: who.id, CreatorMSP: who.mspID, DatasetTag: spec.DatasetTag, Deadlines: spec.Deadlines,
		Enrolment: enrolment, Lora: spec.Lora, MaxExamples: spec.MaxExamples, MaxNodesPerOrg: spec.MaxNodesPerOrg,
		Participants: spec.Participants, Privacy: spec.Privacy, Quorum: spec.Quorum, Rounds: spec.Rounds, Rule: spec.Rule,
		SessionID: spec.SessionID, Status: SessionOpen,
	}
}

// checkJoinable explains why a node cannot join, or returns nil.
func checkJoinable(session Session, who caller) error {
	listed := contains(session.Participants, who.id)
	switch {
	case session.Enrolment == EnrolmentList && listed:
		return fail(CodeDuplicate, "%s is already a participant of session %s by its spec; no need to join", who.id, session.SessionID)
	case session.Enrolment == EnrolmentList:
		return fail(CodeNotParticipant, "node %s is not in the participant list of session %s", who.id, session.SessionID)
	case listed:
		return fail(CodeDuplicate, "%s has already joined session %s", who.id, session.SessionID)
	case len(session.AllowedOrgs) > 0 && !contains(session.AllowedOrgs, who.mspID):
		return fail(CodeNotParticipant, "org %s may not join session %s; it admits nodes of %s", who.mspID, session.SessionID, strings.Join(session.AllowedOrgs, ", "))
	case len(session.Participants) >= maxParticipants:
		return fail(CodeLimitExceeded, "session %s already has %d participants, the maximum", session.SessionID, maxParticipants)
	case session.MaxNodesPerOrg > 0 && countOrg(session.Participants, who.mspID) >= session.MaxNodesPerOrg:
		return fail(CodeLimitExceeded, "session %s already has %d nodes of %s, the most it admits from one org", session.SessionID, session.MaxNodesPerOrg, who.mspID)
	}
	return nil
}

// prepareStart validates the participants at start and, for a join-mode
// session, raises the quorum to a majority of them: the creator could not
// know how many would join, and a quorum below a majority would let a
// minority of them decide a round.
func prepareStart(stub shim.ChaincodeStubInterface, session *Session) error {
	if len(session.Participants) == 0 {
		return fail(CodeBadArgument, "session %s has no participants; nodes must call JoinSession first", session.SessionID)
	}
	for _, nodeID := range session.Participants {
		if _, err := requireActiveNode(stub, nodeID); err != nil {
			return err
		}
	}
	if err := checkOrgSpread(session.SessionID, session.Participants); err != nil {
		return err
	}
	if session.Enrolment == EnrolmentJoin {
		session.Quorum = max(session.Quorum, majority(len(session.Participants)))
	}
	return checkQuorum(session.Quorum, len(session.Participants))
}

func readSession(stub shim.ChaincodeStubInterface, sessionID string) (Session, bool, error) {
	var session Session
	key, err := sessionKey(stub, sessionID)
	if err != nil {
		return session, false, err
	}
	found, err := readJSON(stub, key, &session)
	return session, found, err
}

// requireSession loads a session that must exist.
func requireSession(stub shim.ChaincodeStubInterface, sessionID string) (Session, error) {
	session, found, err := readSession(stub, sessionID)
	if err == nil && !found {
		err = fail(CodeNotFound, "session %s does not exist", sessionID)
	}
	return session, err
}

func saveSession(stub shim.ChaincodeStubInterface, session Session) error {
	key, err := sessionKey(stub, session.SessionID)
	if err != nil {
		return err
	}
	return writeJSON(stub, key, session)
}
