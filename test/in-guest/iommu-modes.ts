// Prints, as JSON, the IOMMU modes this guest's kernel offers (for the host-side tests to pick modes).
import { availableIommuModes } from '../../drivers/vfio/index.js';

process.stdout.write(`${JSON.stringify(availableIommuModes())}\n`);
