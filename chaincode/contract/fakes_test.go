package contract_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeStub is an in-memory ledger with Fabric's visibility rules: reads see only
// committed state (no read-your-writes), and writes of a failed transaction are
// dropped. Methods the contract must not use are left to the nil embedded
// interface, so calling one panics the test.
type fakeStub struct {
	shim.ChaincodeStubInterface
	committed map[string][]byte
	pending   map[string][]byte
	history   map[string][]*queryresult.KeyModification
	txID      string
	now       time.Time
	args      []string
	creator   []byte
	event     *chaincodeEvent
	// reads and ranges are the keys and the key prefixes the current
	// transaction read: its read set, which Fabric validates at commit.
	reads  map[string]bool
	ranges []string
	// getStateErr, when set, makes every GetState fail; panicOnRead panics instead.
	getStateErr error
	panicOnRead bool
}

type chaincodeEvent struct {
	name    string
	payload []byte
}

func newFakeStub() *fakeStub {
	return &fakeStub{
		committed: map[string][]byte{},
		pending:   map[string][]byte{},
		history:   map[string][]*queryresult.KeyModification{},
		reads:     map[string]bool{},
	}
}

// begin starts a transaction with the given id, time and arguments.
func (s *fakeStub) begin(txID string, now time.Time, args []string) {
	s.txID, s.now, s.args = txID, now, args
	s.pending = map[string][]byte{}
	s.event = nil
	s.reads, s.ranges = map[string]bool{}, nil
}

// commit applies the pending writes in key order and records their history.
func (s *fakeStub) commit() {
	s.apply(s.txID, s.now, s.pending)
	s.pending = map[string][]byte{}
}

// apply commits one transaction's writes.
func (s *fakeStub) apply(txID string, now time.Time, writes map[string][]byte) {
	keys := make([]string, 0, len(writes))
	for key := range writes {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		s.committed[key] = writes[key]
		mod := &queryresult.KeyModification{TxId: txID, Value: writes[key], Timestamp: timestamppb.New(now)}
		// Fabric 2.x reports history newest first.
		s.history[key] = append([]*queryresult.KeyModification{mod}, s.history[key]...)
	}
}

func (s *fakeStub) GetState(key string) ([]byte, error) {
	if s.panicOnRead {
		panic("simulated bug")
	}
	if s.getStateErr != nil {
		return nil, s.getStateErr
	}
	s.reads[key] = true
	return s.committed[key], nil
}

func (s *fakeStub) PutState(key string, value []byte) error {
	if key == "" || value == nil {
		return errors.New("key and value must be set")
	}
	s.pending[key] = append([]byte(nil), value...)
	return nil
}

func (s *fakeStub) CreateCompositeKey(objectType string, attributes []string) (string, error) {
	return shim.CreateCompositeKey(objectType, attributes)
}

func (s *fakeStub) GetStateByPartialCompositeKey(objectType string, attributes []string) (shim.StateQueryIteratorInterface, error) {
	prefix, err := shim.CreateCompositeKey(objectType, attributes)
	if err != nil {
		return nil, err
	}
	s.ranges = append(s.ranges, prefix)
	var rows []*queryresult.KV
	for key, value := range s.committed {
		if strings.HasPrefix(key, prefix) {
			rows = append(rows, &queryresult.KV{Key: key, Value: value})
		}
	}
	// Deliberately unsorted input order: the contract must not depend on it.
	sort.Slice(rows, func(i, j int) bool { return rows[i].Key > rows[j].Key })
	return &kvIterator{rows: rows}, nil
}

// GetStateByPartialCompositeKeyWithPagination pages like the peer's LevelDB
// state: the bookmark is the start key, and the next page's bookmark is the key
// after the page, or "" after the last one.
func (s *fakeStub) GetStateByPartialCompositeKeyWithPagination(objectType string, attributes []string, pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	prefix, err := shim.CreateCompositeKey(objectType, attributes)
	if err != nil {
		return nil, nil, err
	}
	s.ranges = append(s.ranges, prefix)
	var keys []string
	for key := range s.committed {
		if strings.HasPrefix(key, prefix) && key >= bookmark {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	next := ""
	if len(keys) > int(pageSize) {
		keys, next = keys[:pageSize], keys[pageSize]
	}
	rows := make([]*queryresult.KV, 0, len(keys))
	for _, key := range keys {
		rows = append(rows, &queryresult.KV{Key: key, Value: s.committed[key]})
	}
	return &kvIterator{rows: rows}, &peer.QueryResponseMetadata{FetchedRecordsCount: int32(len(rows)), Bookmark: next}, nil
}

func (s *fakeStub) GetHistoryForKey(key string) (shim.HistoryQueryIteratorInterface, error) {
	return &historyIterator{rows: s.history[key]}, nil
}

func (s *fakeStub) GetTxTimestamp() (*timestamppb.Timestamp, error) {
	return timestamppb.New(s.now), nil
}

func (s *fakeStub) GetTxID() string { return s.txID }

func (s *fakeStub) GetChannelID() string { return "fedlora" }

func (s *fakeStub) GetCreator() ([]byte, error) { return s.creator, nil }

func (s *fakeStub) GetFunctionAndParameters() (string, []string) {
	if len(s.args) == 0 {
		return "", nil
	}
	return s.args[0], s.args[1:]
}

func (s *fakeStub) SetEvent(name string, payload []byte) error {
	s.event = &chaincodeEvent{name: name, payload: payload}
	return nil
}

type kvIterator struct{ rows []*queryresult.KV }

func (it *kvIterator) HasNext() bool { return len(it.rows) > 0 }
func (it *kvIterator) Close() error  { return nil }
func (it *kvIterator) Next() (*queryresult.KV, error) {
	row := it.rows[0]
	it.rows = it.rows[1:]
	return row, nil
}

type historyIterator struct {
	rows []*queryresult.KeyModification
}

func (it *historyIterator) HasNext() bool { return len(it.rows) > 0 }
func (it *historyIterator) Close() error  { return nil }
func (it *historyIterator) Next() (*queryresult.KeyModification, error) {
	row := it.rows[0]
	it.rows = it.rows[1:]
	return row, nil
}

// identity is a test caller: an MSP id, a certificate CN and its NodeOU role.
type identity struct {
	msp   string
	cn    string
	admin bool
}

func (id identity) nodeID() string { return id.msp + "/" + id.cn }

// fakeIdentity implements cid.ClientIdentity from a test identity.
type fakeIdentity struct {
	cid.ClientIdentity
	id identity
}

func (f fakeIdentity) GetMSPID() (string, error) { return f.id.msp, nil }

func (f fakeIdentity) GetID() (string, error) { return "x509::CN=" + f.id.cn, nil }

func (f fakeIdentity) GetX509Certificate() (*x509.Certificate, error) {
	ou := "client"
	if f.id.admin {
		ou = "admin"
	}
	return &x509.Certificate{Subject: pkix.Name{CommonName: f.id.cn, OrganizationalUnit: []string{ou}}}, nil
}

// fakeContext implements contractapi.TransactionContextInterface.
type fakeContext struct {
	stub     *fakeStub
	identity cid.ClientIdentity
}

func (c fakeContext) GetStub() shim.ChaincodeStubInterface { return c.stub }

func (c fakeContext) GetClientIdentity() cid.ClientIdentity { return c.identity }
