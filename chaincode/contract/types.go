package contract

import "encoding/json"

// Struct fields are declared in alphabetical order of their JSON names so that the
// bytes written to the ledger read the same in every language that re-encodes them.
// encoding/json sorts map keys, so maps are deterministic too.

// Node statuses.
const (
	NodeActive   = "active"
	NodeInactive = "inactive"
)

// Session statuses.
const (
	SessionOpen      = "open"
	SessionRunning   = "running"
	SessionCompleted = "completed"
	SessionFailed    = "failed"
)

// Enrolment modes of a session: an explicit list in the spec, or JoinSession calls.
const (
	EnrolmentList = "list"
	EnrolmentJoin = "join"
)

// Round phases.
const (
	PhaseCollecting  = "collecting"
	PhaseAggregating = "aggregating"
	PhaseEndorsing   = "endorsing"
	PhaseFinal       = "final"
	PhaseFailed      = "failed"
)

// Adapter kinds in the lineage index.
const (
	KindUpdate         = "update"
	KindAggregate      = "aggregate"
	KindOptimizerState = "optimizerState"
)

// Node is a registered member node; its id is "<mspId>/<certificate CN>".
type Node struct {
	CommonName    string `json:"commonName"`
	Endpoint      string `json:"endpoint"`
	MSPID         string `json:"mspId"`
	NodeID        string `json:"nodeId"`
	RegisteredAt  string `json:"registeredAt"`
	Status        string `json:"status"`
	TLSCertSHA256 string `json:"tlsCertSha256"`
	UpdatedAt     string `json:"updatedAt"`
}

// Deadlines bounds each round phase, in seconds of transaction time.
type Deadlines struct {
	AggregateSeconds int64 `json:"aggregateSeconds"`
	CollectSeconds   int64 `json:"collectSeconds"`
	EndorseSeconds   int64 `json:"endorseSeconds"`
}

// LoraConfig is the adapter shape every participant trains.
type LoraConfig struct {
	Alpha         float64  `json:"alpha"`
	Dropout       float64  `json:"dropout"`
	Rank          int      `json:"rank"`
	TargetModules []string `json:"targetModules"`
	// TopLayers adapts only the top N decoder layers (0: all of them).
	TopLayers int `json:"topLayers"`
}

// Rule names an aggregation rule and its numeric parameters.
type Rule struct {
	Name   string             `json:"name"`
	Params map[string]float64 `json:"params"`
}

// Privacy is a session's differential-privacy budget: every participant
// trains with this noise multiplier and clipping norm, and the epsilon it has
// spent (for this delta) may never exceed Epsilon. Fixed at CreateSession.
type Privacy struct {
	ClipNorm        float64 `json:"clipNorm"`
	Delta           float64 `json:"delta"`
	Epsilon         float64 `json:"epsilon"`
	NoiseMultiplier float64 `json:"noiseMultiplier"`
}

// SessionSpec is the input of CreateSession. AllowedOrgs, MaxExamples,
// MaxNodesPerOrg and Privacy are optional (absent means: any org, the default
// cap, no per-org cap, no differential privacy).
type SessionSpec struct {
	// AllowedOrgs lists the MSP ids whose nodes may JoinSession (join mode only; empty: any member org).
	AllowedOrgs     []string   `json:"allowedOrgs"`
	BaseModel       string     `json:"baseModel"`
	BaseModelSHA256 string     `json:"baseModelSha256"`
	DatasetTag      string     `json:"datasetTag"`
	Deadlines       Deadlines  `json:"deadlines"`
	Lora            LoraConfig `json:"lora"`
	// MaxExamples caps the numExamples an update may declare (0: defaultMaxExamples).
	MaxExamples int64 `json:"maxExamples"`
	// MaxNodesPerOrg caps how many nodes of one org may join (join mode only; 0: no per-org cap).
	MaxNodesPerOrg int      `json:"maxNodesPerOrg"`
	Participants   []string `json:"participants"`
	// Privacy is the session's differential-privacy budget (nil: no DP).
	Privacy   *Privacy `json:"privacy"`
	Quorum    int      `json:"quorum"`
	Rounds    int      `json:"rounds"`
	Rule      Rule     `json:"rule"`
	SessionID string   `json:"sessionId"`
}

// Session is one federated fine-tuning job.
type Session struct {
	AllowedOrgs     []string  `json:"allowedOrgs"`
	BaseModel       string    `json:"baseModel"`
	BaseModelSHA256 string    `json:"baseModelSha256"`
	CreatedAt       string    `json:"createdAt"`
	Creator         string    `json:"creator"`
	CreatorMSP      string    `json:"creatorMsp"`
	CurrentRound    int       `json:"currentRound"`
	DatasetTag      string    `json:"datasetTag"`
	Deadlines       Deadlines `json:"deadlines"`
	Enrolment       string    `json:"enrolment"`
	// FailureReason says why a failed session failed (empty otherwise).
	FailureReason      string     `json:"failureReason"`
	FinalAdapterSHA256 string     `json:"finalAdapterSha256"`
	Lora               LoraConfig `json:"lora"`
	MaxExamples        int64      `json:"maxExamples"`
	MaxNodesPerOrg     int        `json:"maxNodesPerOrg"`
	Participants       []string   `json:"participants"`
	// Privacy is the spec's budget, null without one; no transaction changes it.
	Privacy   *Privacy `json:"privacy"`
	Quorum    int      `json:"quorum"`
	Rounds    int      `json:"rounds"`
	Rule      Rule     `json:"rule"`
	SessionID string   `json:"sessionId"`
	StartedAt string   `json:"startedAt"`
	Status    string   `json:"status"`
}

// Update is one participant's local adapter for a round.
type Update struct {
	// EpsilonSpent is the epsilon the node has spent in the session so far,
	// this update included (0 in a session without a privacy budget).
	EpsilonSpent float64            `json:"epsilonSpent"`
	Metrics      map[string]float64 `json:"metrics"`
	NumExamples  int64              `json:"numExamples"`
	SHA256       string             `json:"sha256"`
	SubmittedAt  string             `json:"submittedAt"`
	TxID         string             `json:"txId"`
}

// Input names one update that went into an aggregate.
type Input struct {
	NodeID string `json:"nodeId"`
	SHA256 string `json:"sha256"`
}

// ProposalInput is the JSON argument of ProposeAggregate.
type ProposalInput struct {
	Inputs               []Input            `json:"inputs"`
	OptimizerStateSHA256 string             `json:"optimizerStateSha256"`
	Rule                 Rule               `json:"rule"`
	SHA256               string             `json:"sha256"`
	Weights              map[string]float64 `json:"weights"`
}

// Proposal is an aggregate proposed by the round's elected aggregator.
type Proposal struct {
	Aggregator           string             `json:"aggregator"`
	Attempt              int                `json:"attempt"`
	Inputs               []Input            `json:"inputs"`
	OptimizerStateSHA256 string             `json:"optimizerStateSha256"`
	ProposedAt           string             `json:"proposedAt"`
	Rule                 Rule               `json:"rule"`
	SHA256               string             `json:"sha256"`
	TxID                 string             `json:"txId"`
	Weights              map[string]float64 `json:"weights"`
}

// RejectedProposal keeps a proposal that lost its attempt, with the verdicts it got.
type RejectedProposal struct {
	Proposal
	// Cause is "rejected" (quorum became unreachable) or "timeout" (endorse deadline passed).
	Cause        string                 `json:"cause"`
	Endorsements map[string]Endorsement `json:"endorsements"`
	RejectedAt   string                 `json:"rejectedAt"`
}

// Endorsement is one participant's verdict on the current proposal.
type Endorsement struct {
	Accept bool   `json:"accept"`
	At     string `json:"at"`
	Reason string `json:"reason"`
	SHA256 string `json:"sha256"`
	TxID   string `json:"txId"`
}

// Round is the state of one round of one session.
type Round struct {
	Aggregator        string                 `json:"aggregator"`
	Attempt           int                    `json:"attempt"`
	Endorsements      map[string]Endorsement `json:"endorsements"`
	FinalSHA256       string                 `json:"finalSha256"`
	OpenedAt          string                 `json:"openedAt"`
	Phase             string                 `json:"phase"`
	PhaseDeadline     string                 `json:"phaseDeadline"`
	Proposal          *Proposal              `json:"proposal"`
	RejectedProposals []RejectedProposal     `json:"rejectedProposals"`
	Round             int                    `json:"round"`
	SessionID         string                 `json:"sessionId"`
	Updates           map[string]Update      `json:"updates"`
}

// AdapterRecord indexes an adapter hash to the round that produced it.
type AdapterRecord struct {
	Kind      string `json:"kind"`
	Producer  string `json:"producer"`
	Round     int    `json:"round"`
	SessionID string `json:"sessionId"`
	SHA256    string `json:"sha256"`
}

// Lineage answers AdapterLineage: where an adapter came from and who vouched for it.
type Lineage struct {
	Endorsements map[string]Endorsement `json:"endorsements"`
	Final        bool                   `json:"final"`
	Inputs       []Input                `json:"inputs"`
	Kind         string                 `json:"kind"`
	Producer     string                 `json:"producer"`
	Round        int                    `json:"round"`
	Rule         *Rule                  `json:"rule"`
	SessionID    string                 `json:"sessionId"`
	SHA256       string                 `json:"sha256"`
	Weights      map[string]float64     `json:"weights"`
}

// HistoryEntry is one committed version of a ledger key.
type HistoryEntry struct {
	IsDelete  bool   `json:"isDelete"`
	Timestamp string `json:"timestamp"`
	TxID      string `json:"txId"`
	// Value is the stored JSON object, or null for a delete.
	Value json.RawMessage `json:"value"`
}

// Trail is the full compliance export of one session.
type Trail struct {
	Nodes   []Node  `json:"nodes"`
	Rounds  []Round `json:"rounds"`
	Session Session `json:"session"`
}

// Event is the payload of every chaincode event.
type Event struct {
	Aggregator string `json:"aggregator"`
	Attempt    int    `json:"attempt"`
	Event      string `json:"event"`
	// NodeID is the actor: the node id of the caller.
	NodeID    string `json:"nodeId"`
	Phase     string `json:"phase"`
	Round     int    `json:"round"`
	SessionID string `json:"sessionId"`
	SHA256    string `json:"sha256,omitempty"`
	// Subject is the node a node event is about, when it differs from the actor.
	Subject string `json:"subject,omitempty"`
	TxID    string `json:"txId"`
}
