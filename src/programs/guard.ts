import { installBootGuard } from "../platform/bootGuard.js"

// Its own module so that bin.ts can import it before anything else is evaluated.
installBootGuard()
