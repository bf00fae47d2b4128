package fdstream

import (
	"sync"

	"golang.org/x/sys/unix"
)

// O_NONBLOCK is a property of the open file description, which dup'ed
// descriptors share: a Stream that sets it changes it for every holder,
// other Streams included. The registry below remembers the descriptions
// on which Streams set it, so that it is cleared again only when the last
// Stream using that description closes (guarantee 11). Without it, of two
// Streams made by FromFile on one socket, the first to close would put
// the description back in blocking mode under the second, whose next
// read(2) would then block where no ctx or Close can reach it.
var nonblocking struct {
	mu sync.Mutex
	m  map[inode][]*nbDesc
}

type inode struct{ dev, ino uint64 }

// nbDesc is one open file description the library made non-blocking.
type nbDesc struct {
	fds []int // descriptors of the live Streams on it
}

// acquireNonblock makes fd non-blocking. It returns nil if the description
// already was (and no Stream of ours made it so): then nothing is to be
// restored. Otherwise it returns the description's entry, which Close
// must release.
func acquireNonblock(fd int, st *unix.Stat_t) (*nbDesc, error) {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return nil, err
	}
	key := inode{uint64(st.Dev), uint64(st.Ino)}
	nonblocking.mu.Lock()
	defer nonblocking.mu.Unlock()
	if fl&unix.O_NONBLOCK != 0 {
		// Non-blocking already: either another Stream of ours set it on
		// this very description (join its entry), or someone else did
		// (leave it be). A blocking fd cannot be on a description we
		// made non-blocking, so only this case needs the comparison.
		for _, d := range nonblocking.m[key] {
			if sameDescription(fd, d.fds[0]) {
				d.fds = append(d.fds, fd)
				return d, nil
			}
		}
		return nil, nil
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, err
	}
	d := &nbDesc{fds: []int{fd}}
	if nonblocking.m == nil {
		nonblocking.m = make(map[inode][]*nbDesc)
	}
	nonblocking.m[key] = append(nonblocking.m[key], d)
	return d, nil
}

// releaseNonblock drops fd from d; the last Stream out clears O_NONBLOCK.
// It must run before fd is closed.
func releaseNonblock(d *nbDesc, fd int, st *unix.Stat_t) {
	if d == nil {
		return
	}
	key := inode{uint64(st.Dev), uint64(st.Ino)}
	nonblocking.mu.Lock()
	defer nonblocking.mu.Unlock()
	for i, f := range d.fds {
		if f == fd {
			d.fds = append(d.fds[:i], d.fds[i+1:]...)
			break
		}
	}
	if len(d.fds) > 0 {
		return
	}
	unix.SetNonblock(fd, false)
	list := nonblocking.m[key]
	for i, e := range list {
		if e == d {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(nonblocking.m, key)
	} else {
		nonblocking.m[key] = list
	}
}
