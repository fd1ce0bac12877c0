// Which kernel features a scenario needs, to tell a user whose own kernel
// lacks one before the run, not in the middle of it.

import type { Feature } from '../kernels/kconfig.js';
import { definitionOf } from '../steps/index.js';
import type { Scenario } from './model.js';

export function scenarioNeeds(s: Scenario): Map<Feature, string> {
  const needs = new Map<Feature, string>();
  const qemu = s.targets.filter((t) => t.kind === 'qemu');
  if (qemu.length) needs.set('guest-boot', 'the scenario runs on a QEMU target');
  if (qemu.some((t) => t.kind === 'qemu' && t.iommu === 'intel'))
    needs.set('intel-iommu', 'the QEMU target uses intel-iommu');
  if (qemu.some((t) => t.kind === 'qemu' && t.iommu === 'virtio'))
    needs.set('virtio-iommu', 'the QEMU target uses virtio-iommu');
  for (const step of s.steps) {
    const feature = definitionOf(step.kind).needs;
    if (feature) needs.set(feature, `steps[${step.index}] ${step.kind}`);
  }
  for (const d of s.devices) {
    if (d.iommu === 'type1' || d.iommu === 'type1v2') needs.set('vfio-type1', `device ${d.name} uses iommu ${d.iommu}`);
    else needs.set('iommufd', `device ${d.name} uses iommu ${d.iommu}`);
    if (d.vf !== undefined) needs.set('sriov', `device ${d.name} is a VF`);
  }
  if (s.buffers.some((b) => b.backing === 'hugetlb'))
    needs.set('hugetlb', `buffer ${s.buffers.find((b) => b.backing === 'hugetlb')!.name} is hugetlb`);
  return needs;
}
