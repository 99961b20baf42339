package contract

import (
	"strings"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Bounds of the list queries. ListNodes and ListSessions answer whole lists
// up to a few megabytes (a Node is ~300 bytes, a Session up to ~10 KB) and
// refuse longer ones; the Page variants return any list in pages of up to
// maxPageSize.
const (
	maxListedNodes    = 10000
	maxListedSessions = 1000
	maxPageSize       = 1000
)

// Page is one page of a paginated list query. Bookmark is the argument that
// fetches the next page, or "" after the last one.
type Page[T any] struct {
	Bookmark string `json:"bookmark"`
	Items    []T    `json:"items"`
}

// ListNodesPage returns up to pageSize registered Nodes, sorted by node id,
// starting at bookmark ("" for the first page), and the next page's bookmark.
func (c *Contract) ListNodesPage(ctx contractapi.TransactionContextInterface, pageSize, bookmark string) (out string, err error) {
	defer recoverPanic("ListNodesPage", &out, &err)
	page, err := readPage[Node](ctx.GetStub(), nodeKeyType, pageSize, bookmark)
	if err != nil {
		return "", err
	}
	return toJSON(page)
}

// ListSessionsPage returns up to pageSize Sessions, sorted by session id,
// starting at bookmark ("" for the first page), and the next page's bookmark.
func (c *Contract) ListSessionsPage(ctx contractapi.TransactionContextInterface, pageSize, bookmark string) (out string, err error) {
	defer recoverPanic("ListSessionsPage", &out, &err)
	stub := ctx.GetStub()
	page, err := readPage[Session](stub, sessionKeyType, pageSize, bookmark)
	if err != nil {
		return "", err
	}
	if page.Items, err = currentSessions(stub, page.Items); err != nil {
		return "", err
	}
	return toJSON(page)
}

// readPage reads one page of the values of one key type. Fabric takes the
// bookmark as the scan's start key, so one that does not lie among this key
// type's keys is refused: it would read other kinds of records.
func readPage[T any](stub shim.ChaincodeStubInterface, kind, pageSizeArg, bookmark string) (Page[T], error) {
	size, err := parsePositive("pageSize", pageSizeArg, maxPageSize)
	if err != nil {
		return Page[T]{}, err
	}
	prefix, err := compositeKey(stub, kind)
	if err != nil {
		return Page[T]{}, err
	}
	if bookmark != "" && !strings.HasPrefix(bookmark, prefix) {
		return Page[T]{}, fail(CodeBadArgument, "bookmark %q is not a %s bookmark; pass \"\" or the bookmark of the previous page", bookmark, kind)
	}
	iter, meta, err := stub.GetStateByPartialCompositeKeyWithPagination(kind, []string{}, int32(size), bookmark)
	if err != nil {
		return Page[T]{}, internal(err, "failed to read a page of %s keys", kind)
	}
	defer func() { _ = iter.Close() }()
	items, err := decodeRows[T](iter, kind, 0)
	if err != nil {
		return Page[T]{}, err
	}
	return Page[T]{Bookmark: meta.GetBookmark(), Items: items}, nil
}
