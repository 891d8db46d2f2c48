package validate

// bloom is a split-block Bloom filter (as Parquet's): a key sets one bit in
// each of the 8 words of one 32-byte block, so a probe reads one cache line.
// It uses the hash's top 48 bits only, which sorted keeps.
// At 16 bits a key about 1 in 2,000 keys not in it is a false "maybe".
type bloom struct {
	blocks [][8]uint32
	keys   int // what it was sized for
}

func newBloom(keys, bitsPerKey int) bloom {
	return bloom{blocks: make([][8]uint32, max(keys*bitsPerKey/256, 1)), keys: keys}
}

var bloomSalt = [8]uint32{0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31}

func (f *bloom) block(h uint64) *[8]uint32 {
	return &f.blocks[(h>>32*uint64(len(f.blocks)))>>32]
}

func (f *bloom) add(h uint64) {
	b, x := f.block(h), uint32(h>>16)
	for i := range b {
		b[i] |= 1 << (x * bloomSalt[i] >> 27)
	}
}

// has reports whether h may have been added; false is certain.
func (f *bloom) has(h uint64) bool {
	if len(f.blocks) == 0 {
		return false
	}
	// Every word tested, without a branch: whether the first one misses is
	// a coin toss the processor cannot predict.
	b, x := f.block(h), uint32(h>>16)
	miss := uint32(0)
	for i := range b {
		miss |= ^b[i] & (1 << (x * bloomSalt[i] >> 27))
	}
	return miss == 0
}
